package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/engram-kb/engram"
	"github.com/jackc/pgx/v5/pgxpool"
)

// replica is a streaming read replica (Options.ReadURL) and what engram
// knows of how far it has replayed. A poller samples, every pollEvery,
// the primary's WAL position and the replica's replay position. A read
// outside a transaction goes to the replica when its context allows it
// (engram.WithReplicaReads) and the replica is usable: it answered the
// last poll, it has replayed the position the client must see, and it is
// at most maxLag behind (it has replayed what the primary had written
// maxLag ago). Otherwise, and whenever the replica fails, the read goes
// to the primary: a replica that falls behind or goes away slows reads
// down, it never fails them.
type replica struct {
	pool   *pgxpool.Pool
	maxLag time.Duration

	mu       sync.Mutex
	healthy  bool
	replay   engram.WALPosition
	samples  []walSample // the primary's positions, oldest first
	downTill time.Time   // after a failed read, the replica rests a while

	stop chan struct{}
	done chan struct{}
}

// walSample is the primary's WAL position at a moment.
type walSample struct {
	at  time.Time
	pos engram.WALPosition
}

const pollEvery = 100 * time.Millisecond

// poll samples both servers until stop.
func (r *replica) poll(primary *pgxpool.Pool) {
	defer close(r.done)
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		r.sample(primary)
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
	}
}

func (r *replica) sample(primary *pgxpool.Pool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var p, q string
	perr := primary.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&p)
	rerr := r.pool.QueryRow(ctx, `SELECT coalesce(pg_last_wal_replay_lsn(), '0/0')::text`).Scan(&q)
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if perr == nil {
		if pos, err := engram.ParseWALPosition(p); err == nil {
			r.samples = append(r.samples, walSample{at: now, pos: pos})
		}
		// Keep one sample older than maxLag, and those after it.
		for len(r.samples) > 2 && now.Sub(r.samples[1].at) > r.maxLag {
			r.samples = r.samples[1:]
		}
	}
	r.healthy = rerr == nil
	if rerr == nil {
		if pos, err := engram.ParseWALPosition(q); err == nil {
			r.replay = pos
		}
	}
}

// usable reports whether a read that must see min may go to the replica
// now.
func (r *replica) usable(min engram.WALPosition) bool {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.healthy || now.Before(r.downTill) || len(r.samples) == 0 || r.replay < min {
		return false
	}
	// The primary's position maxLag ago: the newest sample at least that
	// old, or, while the poller is younger than maxLag, the oldest.
	lagged := r.samples[0].pos
	for _, s := range r.samples {
		if now.Sub(s.at) >= r.maxLag {
			lagged = s.pos
		}
	}
	return r.replay >= lagged
}

// acquire takes a replica connection, waiting at most a second: past that
// the read goes to the primary.
func (r *replica) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	actx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return r.pool.Acquire(actx)
}

// failed rests the replica after a read on it failed.
func (r *replica) failed() {
	r.mu.Lock()
	r.downTill = time.Now().Add(time.Second)
	r.mu.Unlock()
}

func (r *replica) close() {
	close(r.stop)
	<-r.done
	r.pool.Close()
}
