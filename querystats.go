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
}

type statsKey struct{}

// WithQueryStats returns a context that records statements into a new
// QueryStats, and that QueryStats.
func WithQueryStats(ctx context.Context) (context.Context, *QueryStats) {
	s := &QueryStats{}
	return context.WithValue(ctx, statsKey{}, s), s
}

// RecordStatement adds one statement of duration d to the stats carried by
// ctx, if any, and reports it to the installed StatementObserver.
func RecordStatement(ctx context.Context, op string, d time.Duration, err error) {
	if s, ok := ctx.Value(statsKey{}).(*QueryStats); ok {
		s.count.Add(1)
		s.nanos.Add(int64(d))
	}
	if o := observer.Load(); o != nil {
		(*o)(ctx, op, d, err)
	}
}

// Count returns the number of statements recorded.
func (s *QueryStats) Count() int { return int(s.count.Load()) }

// Duration returns the total time of the recorded statements.
func (s *QueryStats) Duration() time.Duration { return time.Duration(s.nanos.Load()) }

// Reset sets the counters to zero.
func (s *QueryStats) Reset() { s.count.Store(0); s.nanos.Store(0) }

// StatementObserver is called after every statement with its operation
// name (never its parameters), duration and error.
type StatementObserver func(ctx context.Context, op string, d time.Duration, err error)

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
