package engram

import (
	"context"
	"sync/atomic"
	"time"
)

// QueryStats counts the SQL statements executed on behalf of one request
// and their total time. Stores record every statement they send (BEGIN and
// COMMIT are not counted); the HTTP layer reports the totals in the
// Server-Timing header and tests assert them.
type QueryStats struct {
	count atomic.Int64
	nanos atomic.Int64
	// failed is the operation name of the last statement that failed.
	failed atomic.Pointer[string]
	// commit is the WAL position of the request's last commit, where the
	// engine reports it (PostgreSQL with a read replica).
	commit atomic.Uint64
}

// RecordCommit notes, in the stats carried by ctx, the WAL position at
// which a write of the request committed: what the client must be able to
// read next (see WithReplicaReads).
func RecordCommit(ctx context.Context, at WALPosition) {
	if s, ok := ctx.Value(statsKey{}).(*QueryStats); ok {
		for {
			old := s.commit.Load()
			if uint64(at) <= old || s.commit.CompareAndSwap(old, uint64(at)) {
				return
			}
		}
	}
}

// Commit returns the WAL position of the request's last commit, 0 when none
// was reported.
func (s *QueryStats) Commit() WALPosition { return WALPosition(s.commit.Load()) }

type statsKey struct{}

// WithQueryStats returns a context that records statements into a new
// QueryStats, and that QueryStats.
func WithQueryStats(ctx context.Context) (context.Context, *QueryStats) {
	s := &QueryStats{}
	return context.WithValue(ctx, statsKey{}, s), s
}

// QueryStatsFrom returns the QueryStats ctx records into, or nil.
func QueryStatsFrom(ctx context.Context) *QueryStats {
	s, _ := ctx.Value(statsKey{}).(*QueryStats)
	return s
}

// Statement is one SQL statement as a store reports it: its operation
// name, never its text or its parameters.
type Statement struct {
	Op       string
	Duration time.Duration
	// Rows is how many rows it returned or changed, -1 when the driver does
	// not tell.
	Rows int64
	Err  error
}

// RecordStatement adds one statement to the stats carried by ctx, if any,
// and reports it to the installed StatementObserver.
func RecordStatement(ctx context.Context, st Statement) {
	if s, ok := ctx.Value(statsKey{}).(*QueryStats); ok {
		s.count.Add(1)
		s.nanos.Add(int64(st.Duration))
		if st.Err != nil {
			s.failed.Store(&st.Op)
		}
	}
	if o := observer.Load(); o != nil {
		(*o)(ctx, st)
	}
}

// Count returns the number of statements recorded.
func (s *QueryStats) Count() int { return int(s.count.Load()) }

// Duration returns the total time of the recorded statements.
func (s *QueryStats) Duration() time.Duration { return time.Duration(s.nanos.Load()) }

// FailedStatement returns the operation name of the last statement that
// failed, or "": what an internal error's log line names instead of the
// driver's message.
func (s *QueryStats) FailedStatement() string {
	if s == nil {
		return ""
	}
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return ""
}

// Reset sets the counters to zero.
func (s *QueryStats) Reset() { s.count.Store(0); s.nanos.Store(0) }

// StatementObserver is called after every statement.
type StatementObserver func(ctx context.Context, st Statement)

var observer atomic.Pointer[StatementObserver]

// SetStatementObserver installs o process-wide (nil removes it). It serves
// the slow-statement log and metrics.
func SetStatementObserver(o StatementObserver) {
	if o == nil {
		observer.Store(nil)
		return
	}
	observer.Store(&o)
}
