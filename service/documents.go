package service

import (
	"context"

	"github.com/engram-kb/engram"
)

// Documents: create, list, read and edit. Each is a fixed number of
// statements whatever the number of documents.

// CreateDocuments inserts prepared documents and their chunks in one
// transaction: one statement for the documents and one for all their
// chunks (none when they have no content). Returns invalid_argument or
// conflict.
func (s *Store) CreateDocuments(ctx context.Context, tenantID string, docs []engram.PreparedDocument) error {
	if len(docs) == 0 {
		return engram.Errorf(engram.EInvalid, "documents: at least one document is required")
	}
	// The limit bounds the size of the one statement's parameter.
	if len(docs) > engram.MaxDocumentsPerCreate {
		return engram.Errorf(engram.EInvalid, "documents: at most %d documents per request, got %d", engram.MaxDocumentsPerCreate, len(docs))
	}
	chunks := 0
	for i := range docs {
		chunks += len(docs[i].Chunks)
	}
	return s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		if err := tx.DocumentsInsert(ctx, tenantID, docs, s.now()); err != nil {
			return err
		}
		if chunks == 0 {
			return nil
		}
		return tx.ChunksInsert(ctx, tenantID, docs)
	})
}

// ListDocuments returns one page of the tenant's live documents without
// content: one statement that reads a row past the page to learn whether
// there is more, and one more to count them when f.IncludeTotal. A zero
// f.Limit is DefaultListLimit. Returns invalid_argument.
func (s *Store) ListDocuments(ctx context.Context, tenantID string, f engram.DocumentFilter) (engram.DocumentPage, error) {
	if err := checkFilter(&f); err != nil {
		return engram.DocumentPage{}, err
	}
	r := s.d.Reader()
	read := f
	read.Limit = f.Limit + 1
	docs, err := r.DocumentsList(ctx, tenantID, read)
	if err != nil {
		return engram.DocumentPage{}, err
	}
	page := engram.DocumentPage{Documents: docs}
	if len(docs) > f.Limit {
		page.HasMore = true
		page.Documents = docs[:f.Limit]
		page.NextCursor = engram.CursorFor(page.Documents[f.Limit-1], f.Sort, f.Desc).Encode()
	}
	if f.IncludeTotal {
		n, err := r.DocumentsCount(ctx, tenantID, f)
		if err != nil {
			return engram.DocumentPage{}, err
		}
		page.Total = &n
	}
	return page, nil
}

// checkFilter refuses a filter the drivers cannot page by, and fills in
// the default limit.
func checkFilter(f *engram.DocumentFilter) error {
	if f.Sort == "" {
		f.Sort = engram.SortCreatedAt // a filter built in code may leave it out
	}
	if !f.Sort.Valid() {
		return engram.Errorf(engram.EInvalid, "sort: %q is not a sort key", f.Sort)
	}
	if f.Limit == 0 {
		f.Limit = engram.DefaultListLimit
	}
	if f.Limit < 0 || f.Limit > engram.MaxListLimit {
		return engram.Errorf(engram.EInvalid, "limit: must be between 1 and %d", engram.MaxListLimit)
	}
	if f.Offset < 0 {
		return engram.Errorf(engram.EInvalid, "offset: must not be negative")
	}
	if f.Cursor == nil {
		return nil
	}
	if f.Offset > 0 {
		return engram.Errorf(engram.EInvalid, "offset: cannot be combined with cursor; use one or the other")
	}
	// A cursor built in code gets the checks of one that came as text:
	// its sort and order, its id and the type of its value.
	_, err := engram.DecodeCursor(f.Cursor.Encode(), f.Sort, f.Desc)
	return err
}

// GetDocument reads one document with its content: one statement. A
// soft-deleted document is not_found unless includeDeleted.
func (s *Store) GetDocument(ctx context.Context, tenantID, id string, includeDeleted bool) (engram.Document, error) {
	d, ok, err := s.d.Reader().DocumentGet(ctx, tenantID, id, includeDeleted)
	if err != nil {
		return engram.Document{}, err
	}
	if !ok {
		return engram.Document{}, engram.Errorf(engram.ENotFound, "document %s not found", id)
	}
	return d, nil
}

// UpdateDocument changes the title and/or metadata of a live document and
// returns it: one statement. Returns invalid_argument or not_found.
func (s *Store) UpdateDocument(ctx context.Context, tenantID, id string, p engram.DocumentPatch) (engram.Document, error) {
	if err := p.Validate(); err != nil {
		return engram.Document{}, err
	}
	d, ok, err := s.d.Writer().DocumentUpdate(ctx, tenantID, id, p, s.now())
	if err != nil {
		return engram.Document{}, err
	}
	if !ok {
		return engram.Document{}, engram.Errorf(engram.ENotFound, "document %s not found", id)
	}
	return d, nil
}
