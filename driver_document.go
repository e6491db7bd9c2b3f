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
	// DocumentsList reads, without content, up to f.Limit of the tenant's
	// live documents that match f, in f's order, after f.Cursor or
	// skipping f.Offset. One statement. Returns invalid_argument for a
	// sort it does not know.
	DocumentsList(ctx context.Context, tenantID string, f DocumentFilter) ([]Document, error)
	// DocumentsCount counts the tenant's live documents that match f's
	// filters (its order, cursor and page play no part). One statement.
	DocumentsCount(ctx context.Context, tenantID string, f DocumentFilter) (int, error)
	// DocumentGet reads one document with its content, soft-deleted or not
	// as includeDeleted says, and reports whether it was found. One
	// statement.
	DocumentGet(ctx context.Context, tenantID, id string, includeDeleted bool) (Document, bool, error)
	// DocumentUpdate sets the title and the metadata (p.MetadataJSON) of a
	// live document that p gives, updated at at, and returns the document
	// with its content; false when there is no such live document. One
	// statement.
	DocumentUpdate(ctx context.Context, tenantID, id string, p DocumentPatch, at time.Time) (Document, bool, error)
}
