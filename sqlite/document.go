package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// insertDocumentRows writes document rows (no chunks): one statement.
func insertDocumentRows(ctx context.Context, tx querier, tenantID string, docsJSON []byte, at time.Time) error {
	_, err := exec(ctx, tx, "documents.create",
		`INSERT INTO documents (tenant_id, id, connector_id, external_id, source_type, source_url,
		        title, content, content_hash, metadata, sender, sender_email, recipients,
		        source_created_at, source_updated_at, chunk_count, created_at, updated_at)
		 SELECT ?1, d.value->>'id', d.value->>'connector_id', d.value->>'external_id',
		        d.value->>'source_type', d.value->>'source_url', d.value->>'title', d.value->>'content',
		        d.value->>'content_hash', d.value->>'metadata', d.value->>'sender', d.value->>'sender_email',
		        d.value->>'recipients', d.value->>'source_created_at', d.value->>'source_updated_at',
		        d.value->>'chunk_count', ?2, ?2
		   FROM json_each(?3) AS d`, tenantID, fmtTime(at), string(docsJSON))
	return err
}

// insertChunks writes chunks from one JSON parameter: one statement.
func insertChunks(ctx context.Context, tx querier, tenantID string, chunksJSON []byte) error {
	_, err := exec(ctx, tx, "chunks.create",
		`INSERT INTO document_chunks (tenant_id, document_id, chunk_index, content, token_count)
		 SELECT ?1, c.value->>'document_id', c.value->>'chunk_index', c.value->>'content', c.value->>'token_count'
		   FROM json_each(?2) AS c`, tenantID, string(chunksJSON))
	return err
}

// listColumns are the columns of a list item: everything but content.
const listColumns = `id, connector_id, external_id, source_type, source_url, title, content_hash,
	metadata, sender, sender_email, recipients, source_created_at, source_updated_at, status,
	classification, classification_confidence, classification_reason, rejection_reason,
	user_confirmed, user_confirmed_at, chunk_count, created_at, updated_at, is_deleted, deleted_at`

// fullColumns adds content.
const fullColumns = listColumns + `, content`

type scanner interface{ Scan(dest ...any) error }

// scanDocument reads a row of listColumns (and content when withContent).
func scanDocument(r scanner, withContent bool) (engram.Document, error) {
	var d engram.Document
	var connectorID, externalID, srcCreated, srcUpdated, confirmedAt, deletedAt sql.NullString
	var conf sql.NullFloat64
	var metadata, recipients, createdAt, updatedAt, status, class string
	var content sql.NullString
	dest := []any{&d.ID, &connectorID, &externalID, &d.SourceType, &d.SourceURL, &d.Title, &d.ContentHash,
		&metadata, &d.Sender, &d.SenderEmail, &recipients, &srcCreated, &srcUpdated, &status,
		&class, &conf, &d.ClassificationReason, &d.RejectionReason,
		&d.UserConfirmed, &confirmedAt, &d.ChunkCount, &createdAt, &updatedAt, &d.IsDeleted, &deletedAt}
	if withContent {
		dest = append(dest, &content)
	}
	if err := r.Scan(dest...); err != nil {
		return d, err
	}
	if connectorID.Valid {
		d.ConnectorID = &connectorID.String
	}
	if externalID.Valid {
		d.ExternalID = &externalID.String
	}
	if conf.Valid {
		d.ClassificationConfidence = &conf.Float64
	}
	if withContent {
		d.Content = &content.String
	}
	d.Status = engram.DocumentStatus(status)
	d.Classification = engram.Classification(class)
	d.Metadata = json.RawMessage(metadata)
	var err error
	if d.Recipients, err = rows.DecodeRecipients(d.ID, []byte(recipients)); err != nil {
		return d, err
	}
	d.SourceCreatedAt = parseTimePtr(srcCreated)
	d.SourceUpdatedAt = parseTimePtr(srcUpdated)
	d.UserConfirmedAt = parseTimePtr(confirmedAt)
	d.DeletedAt = parseTimePtr(deletedAt)
	d.CreatedAt = parseTime(createdAt)
	d.UpdatedAt = parseTime(updatedAt)
	return d, nil
}

// DocumentsList reads one keyset (or offset) page.
func (e *executor) DocumentsList(ctx context.Context, tenantID string, f engram.DocumentFilter) ([]engram.Document, error) {
	if !f.Sort.Valid() {
		return nil, engram.Errorf(engram.EInvalid, "sort: %q is not a sort key", f.Sort)
	}
	where, args := documentWhere(tenantID, f)
	col := string(f.Sort)
	order := col + " ASC, id ASC"
	if f.Desc {
		order = col + " DESC, id DESC"
	}
	if f.Cursor != nil {
		cond, cargs := keysetCondition(f.Sort, f.Desc, f.Cursor)
		where += " AND " + cond
		args = append(args, cargs...)
	}
	q := `SELECT ` + listColumns + ` FROM documents WHERE ` + where + ` ORDER BY ` + order + ` LIMIT ? OFFSET ?`
	rs, err := query(ctx, e.q, "documents.list", q, append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	docs := []engram.Document{}
	for rs.Next() {
		d, err := scanDocument(rs, false)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	return docs, translate(rs.Err())
}

// DocumentsCount counts the documents of a list's filters.
func (e *executor) DocumentsCount(ctx context.Context, tenantID string, f engram.DocumentFilter) (int, error) {
	where, args := documentWhere(tenantID, f)
	var n int
	err := queryRow(ctx, e.q, "documents.count", `SELECT count(*) FROM documents WHERE `+where, args...).Scan(&n)
	return n, translate(err)
}

// documentWhere builds the filter part of a list query. Only fixed column
// names appear in the text; every value is a bound parameter.
func documentWhere(tenantID string, f engram.DocumentFilter) (string, []any) {
	conds := []string{"tenant_id = ?", "is_deleted = 0"}
	args := []any{tenantID}
	add := func(cond string, v any) {
		conds = append(conds, cond)
		args = append(args, v)
	}
	if f.Status != nil {
		add("status = ?", string(*f.Status))
	}
	if f.Classification != nil {
		add("classification = ?", string(*f.Classification))
	}
	if f.NeedsReview {
		conds = append(conds, "status = 'classified'", "user_confirmed = 0")
	}
	if f.SourceType != nil {
		add("source_type = ?", *f.SourceType)
	}
	if f.ConnectorID != nil {
		add("connector_id = ?", *f.ConnectorID)
	}
	if f.CreatedAfter != nil {
		add("created_at >= ?", fmtTime(*f.CreatedAfter))
	}
	if f.CreatedBefore != nil {
		add("created_at < ?", fmtTime(*f.CreatedBefore))
	}
	return strings.Join(conds, " AND "), args
}

// keysetCondition selects the rows after the cursor. NULL sorts as the
// smallest value (SQLite's own order), so an ascending list has its NULLs
// first and a descending list has them last.
func keysetCondition(sort engram.DocumentSort, desc bool, c *engram.Cursor) (string, []any) {
	col := string(sort)
	var v any
	if c.Value != nil {
		switch sort {
		case engram.SortCreatedAt, engram.SortSourceCreatedAt:
			v = fmtTime(c.TimeValue())
		case engram.SortConfidence:
			v = c.FloatValue()
		default:
			v = *c.Value
		}
	}
	switch {
	// A row value, not "col > ? OR (col = ? AND id > ?)": SQLite makes the
	// row value a range on the index and starts at the cursor, while the
	// OR is checked on every row before it.
	case !desc && c.Value != nil:
		return "(" + col + ", id) > (?, ?)", []any{v, c.ID}
	case !desc:
		return "(" + col + " IS NOT NULL OR id > ?)", []any{c.ID}
	case c.Value != nil && sort.Nullable():
		return "((" + col + ", id) < (?, ?) OR " + col + " IS NULL)", []any{v, c.ID}
	case c.Value != nil:
		return "(" + col + ", id) < (?, ?)", []any{v, c.ID}
	default:
		return "(" + col + " IS NULL AND id < ?)", []any{c.ID}
	}
}

// DocumentGet reads one document with its content.
func (e *executor) DocumentGet(ctx context.Context, tenantID, id string, includeDeleted bool) (engram.Document, bool, error) {
	q := `SELECT ` + fullColumns + ` FROM documents WHERE tenant_id = ? AND id = ?`
	if !includeDeleted {
		q += ` AND is_deleted = 0`
	}
	return oneDocument(scanDocument(queryRow(ctx, e.q, "documents.get", q, tenantID, id), true))
}

// DocumentUpdate changes title and metadata, returning the document.
func (e *executor) DocumentUpdate(ctx context.Context, tenantID, id string, p engram.DocumentPatch, at time.Time) (engram.Document, bool, error) {
	return oneDocument(scanDocument(queryRow(ctx, e.q, "documents.update",
		`UPDATE documents SET title = coalesce(?, title), metadata = coalesce(?, metadata), updated_at = ?
		  WHERE tenant_id = ? AND id = ? AND is_deleted = 0
		 RETURNING `+fullColumns, p.Title, p.MetadataJSON, fmtTime(at), tenantID, id), true))
}

// oneDocument turns a one-row scan into found or not.
func oneDocument(d engram.Document, err error) (engram.Document, bool, error) {
	if isNoRows(err) {
		return engram.Document{}, false, nil
	}
	if err != nil {
		return engram.Document{}, false, translate(err)
	}
	return d, true, nil
}

// DocumentsInsert inserts document rows from one JSON parameter.
func (e *executor) DocumentsInsert(ctx context.Context, tenantID string, docs []engram.PreparedDocument, at time.Time) error {
	b, err := rows.DocumentRowsJSON(docs)
	if err != nil {
		return err
	}
	return insertDocumentRows(ctx, e.q, tenantID, b, at)
}

// ChunksInsert inserts the documents' chunks from one JSON parameter.
func (e *executor) ChunksInsert(ctx context.Context, tenantID string, docs []engram.PreparedDocument) error {
	b, _, err := rows.ChunksJSON(docs)
	if err != nil {
		return err
	}
	return insertChunks(ctx, e.q, tenantID, b)
}
