package engram

import (
	"context"
	"time"
)

// DocumentExecutor runs the statements that create, read and edit
// documents.
type DocumentExecutor interface {
	// DocumentsInsert inserts the documents' rows (not their chunks),
	// created and updated at at: one statement whatever their number.
	// Returns conflict or invalid_argument (an unknown connector).
	DocumentsInsert(ctx context.Context, tenantID string, docs []PreparedDocument, at time.Time) error
	// ChunksInsert inserts every chunk of docs: one statement. Call it only
	// when there is at least one chunk.
	ChunksInsert(ctx context.Context, tenantID string, docs []PreparedDocument) error
}
