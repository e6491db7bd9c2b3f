package engram

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Reads from a read replica (PostgreSQL's --db-read-url) are allowed per
// request: the HTTP layer allows them for read-only requests, never for
// jobs or for the reads a use case writes after, and hands on the
// position the client must see (its last write's), so that a client reads
// its own writes.

type replicaKey struct{}

// replicaReads is what WithReplicaReads records.
type replicaReads struct{ min WALPosition }

// WithReplicaReads returns a context whose reads outside a transaction may
// go to a read replica that has replayed at least min (0: any replica not
// too far behind).
func WithReplicaReads(ctx context.Context, min WALPosition) context.Context {
	return context.WithValue(ctx, replicaKey{}, replicaReads{min: min})
}

// ReplicaReads reports whether ctx allows replica reads, and the position
// the replica must have replayed.
func ReplicaReads(ctx context.Context) (min WALPosition, ok bool) {
	r, ok := ctx.Value(replicaKey{}).(replicaReads)
	return r.min, ok
}

// WALPosition is a position in PostgreSQL's write-ahead log (an LSN), the
// token a client carries from a write to its next read.
type WALPosition uint64

// ParseWALPosition reads the text form PostgreSQL prints, "16/B374D848".
// Errors are invalid_argument.
func ParseWALPosition(s string) (WALPosition, error) {
	hi, lo, ok := strings.Cut(strings.TrimSpace(s), "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, Errorf(EInvalid, "%q is not a WAL position such as 16/B374D848", s)
	}
	return WALPosition(h<<32 | l), nil
}

// String is the text form PostgreSQL prints.
func (p WALPosition) String() string { return fmt.Sprintf("%X/%X", uint64(p)>>32, uint64(p)&0xFFFFFFFF) }
