package engram

import "time"

// PoolStats describes one connection pool of a store, for metrics.
type PoolStats struct {
	// Name says which pool: "postgres", "sqlite_writer", "sqlite_readers".
	Name string
	// Acquired connections are in use; Idle ones wait in the pool; Total
	// is both (and those being opened); Max is the limit.
	Acquired, Idle, Total, Max int
	// Waiting is how many requests wait for a connection right now.
	Waiting int
	// AcquireCount counts connections handed out (or, where the driver
	// does not count those, waits for one).
	AcquireCount int64
	// AcquireWait is the total time spent waiting for connections.
	AcquireWait time.Duration
	// AcquireTimeouts counts requests that gave up waiting (answered 503).
	AcquireTimeouts int64
}

// PoolReporter is a store that can report its pools.
type PoolReporter interface {
	PoolStats() []PoolStats
}
