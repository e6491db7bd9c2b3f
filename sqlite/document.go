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

// scanDocument reads a row of listColumns (and content when withContent).
func scanDocument(r rows.Scanner, withContent bool) (engram.Document, error) {
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
	d.Metadata = json.RawMessage(metadata)
	if err := rows.FinishDocument(&d, status, class, []byte(recipients)); err != nil {
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

// scanListed reads a row of listColumns.
func scanListed(r rows.Scanner) (engram.Document, error) { return scanDocument(r, false) }

// DocumentsList reads one keyset (or offset) page.
func (e *executor) DocumentsList(ctx context.Context, tenantID string, f engram.DocumentFilter) ([]engram.Document, error) {
	p, err := rows.PlanDocumentList(f)
	if err != nil {
		return nil, err
	}
	where, args := documentWhere(tenantID, p.Conds)
	col := string(p.Sort)
	order := col + " ASC, id ASC"
	if p.Desc {
		order = col + " DESC, id DESC"
	}
	if p.Keyset != rows.KeysetNone {
		v := rows.TimeParam(p.CursorValue, fmtTime)
		where += " AND " + keysetConds[p.Keyset](col)
		if p.CursorValue == nil {
			args = append(args, p.CursorID)
		} else {
			args = append(args, v, p.CursorID)
		}
	}
	q := `SELECT ` + listColumns + ` FROM documents WHERE ` + where + ` ORDER BY ` + order + ` LIMIT ? OFFSET ?`
	rs, err := query(ctx, e.q, "documents.list", q, append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	docs, err := rows.Collect(rs, scanListed)
	return docs, translate(err)
}

// DocumentsCount counts the documents of a list's filters.
func (e *executor) DocumentsCount(ctx context.Context, tenantID string, f engram.DocumentFilter) (int, error) {
	where, args := documentWhere(tenantID, rows.DocumentConds(f))
	var n int
	err := queryRow(ctx, e.q, "documents.count", `SELECT count(*) FROM documents WHERE `+where, args...).Scan(&n)
	return n, translate(err)
}

// documentConds are the SQL of the filter terms, each with at most one
// parameter.
var documentConds = map[rows.DocumentTerm]string{
	rows.TermStatus:         "status = ?",
	rows.TermClassification: "classification = ?",
	rows.TermNeedsReview:    "status = 'classified' AND user_confirmed = 0",
	rows.TermSourceType:     "source_type = ?",
	rows.TermConnectorID:    "connector_id = ?",
	rows.TermCreatedAfter:   "created_at >= ?",
	rows.TermCreatedBefore:  "created_at < ?",
}

// documentWhere builds the filter part of a list query. Only fixed column
// names appear in the text; every value is a bound parameter.
func documentWhere(tenantID string, conds []rows.DocumentCond) (string, []any) {
	sqlConds := []string{"tenant_id = ?", "is_deleted = 0"}
	args := []any{tenantID}
	for _, c := range conds {
		sqlConds = append(sqlConds, documentConds[c.Term])
		if c.Value != nil {
			args = append(args, rows.TimeParam(c.Value, fmtTime))
		}
	}
	return strings.Join(sqlConds, " AND "), args
}

// keysetConds select the rows after the cursor: the value's parameter (if
// the cursor has a value) comes before the id's. A row value, not
// "col > ? OR (col = ? AND id > ?)": SQLite makes the row value a range on
// the index and starts at the cursor, while the OR is checked on every row
// before it. NULL sorts as the smallest value (SQLite's own order).
var keysetConds = map[rows.Keyset]func(col string) string{
	rows.KeysetAfter:        func(col string) string { return "(" + col + ", id) > (?, ?)" },
	rows.KeysetAfterNull:    func(col string) string { return "(" + col + " IS NOT NULL OR id > ?)" },
	rows.KeysetBeforeOrNull: func(col string) string { return "((" + col + ", id) < (?, ?) OR " + col + " IS NULL)" },
	rows.KeysetBefore:       func(col string) string { return "(" + col + ", id) < (?, ?)" },
	rows.KeysetBeforeNull:   func(col string) string { return "(" + col + " IS NULL AND id < ?)" },
}

// DocumentGet reads one document with its content.
func (e *executor) DocumentGet(ctx context.Context, tenantID, id string, includeDeleted bool) (engram.Document, bool, error) {
	q := `SELECT ` + fullColumns + ` FROM documents WHERE tenant_id = ? AND id = ?`
	if !includeDeleted {
		q += ` AND is_deleted = 0`
	}
	return found(scanDocument(queryRow(ctx, e.q, "documents.get", q, tenantID, id), true))
}

// DocumentUpdate changes title and metadata, returning the document.
func (e *executor) DocumentUpdate(ctx context.Context, tenantID, id string, p engram.DocumentPatch, at time.Time) (engram.Document, bool, error) {
	return found(scanDocument(queryRow(ctx, e.q, "documents.update",
		`UPDATE documents SET title = coalesce(?, title), metadata = coalesce(?, metadata), updated_at = ?
		  WHERE tenant_id = ? AND id = ? AND is_deleted = 0
		 RETURNING `+fullColumns, p.Title, p.MetadataJSON, fmtTime(at), tenantID, id), true))
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
