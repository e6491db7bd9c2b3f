package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
	"github.com/engram-kb/engram/internal/textsearch"
	"github.com/jackc/pgx/v5"
)

// insertDocumentRows writes document rows (no chunks): one statement.
func insertDocumentRows(ctx context.Context, tx querier, tenantID string, docsJSON []byte, at time.Time) error {
	_, err := exec(ctx, tx, "documents.create",
		`INSERT INTO documents (tenant_id, id, connector_id, external_id, source_type, source_url,
		        title, content, content_hash, metadata, sender, sender_email, recipients,
		        source_created_at, source_updated_at, chunk_count, created_at, updated_at)
		 SELECT $1, d.id, d.connector_id, d.external_id, d.source_type, d.source_url, d.title, d.content,
		        d.content_hash, d.metadata::jsonb, d.sender, d.sender_email, d.recipients::jsonb,
		        d.source_created_at, d.source_updated_at, d.chunk_count, $2, $2
		   FROM json_to_recordset($3::json) AS d(`+documentRecord+`)`,
		tenantID, ts(at), string(docsJSON))
	return err
}

// documentRecord is the record shape of rows.DocumentRow for
// json_to_recordset.
const documentRecord = `id uuid, connector_id uuid, external_id text,
	source_type text, source_url text, title text, content text, content_hash text,
	metadata text, sender text, sender_email text, recipients text,
	source_created_at timestamptz, source_updated_at timestamptz, chunk_count integer`

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
	var metadata, recipients []byte
	var status, class string
	dest := []any{&d.ID, &d.ConnectorID, &d.ExternalID, &d.SourceType, &d.SourceURL, &d.Title, &d.ContentHash,
		&metadata, &d.Sender, &d.SenderEmail, &recipients, &d.SourceCreatedAt, &d.SourceUpdatedAt, &status,
		&class, &d.ClassificationConfidence, &d.ClassificationReason, &d.RejectionReason,
		&d.UserConfirmed, &d.UserConfirmedAt, &d.ChunkCount, &d.CreatedAt, &d.UpdatedAt, &d.IsDeleted, &d.DeletedAt}
	var content string
	if withContent {
		dest = append(dest, &content)
	}
	if err := r.Scan(dest...); err != nil {
		return d, err
	}
	if withContent {
		d.Content = &content
	}
	d.Metadata = compactJSON(metadata)
	if err := rows.FinishDocument(&d, status, class, recipients); err != nil {
		return d, err
	}
	inUTC(d.SourceCreatedAt, d.SourceUpdatedAt, d.UserConfirmedAt, d.DeletedAt, &d.CreatedAt, &d.UpdatedAt)
	return d, nil
}

// scanFull reads a row of fullColumns.
func scanFull(r pgx.Row) (engram.Document, error) { return scanDocument(r, true) }

// scanListed reads a row of listColumns.
func scanListed(r rows.Scanner) (engram.Document, error) { return scanDocument(r, false) }

// compactJSON removes the spaces jsonb prints after separators, so clients
// get the same compact text on both engines.
func compactJSON(b []byte) json.RawMessage {
	var c bytes.Buffer
	if json.Compact(&c, b) == nil {
		return c.Bytes()
	}
	return b
}

// sortExpr is the ORDER BY expression of a sort key. Titles compare by code
// point (COLLATE "C"), as on SQLite, and as the title index is built.
func sortExpr(s engram.DocumentSort) string {
	if s == engram.SortTitle {
		return `title COLLATE "C"`
	}
	return string(s)
}

// args numbers bound parameters as they are added.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// DocumentsList reads one keyset (or offset) page.
func (e *executor) DocumentsList(ctx context.Context, tenantID string, f engram.DocumentFilter) ([]engram.Document, error) {
	p, err := rows.PlanDocumentList(f)
	if err != nil {
		return nil, err
	}
	var a args
	where := documentWhere(&a, tenantID, p.Conds)
	col := sortExpr(p.Sort)
	// NULLS FIRST/LAST only where there can be NULLs: the indexes of the
	// NOT NULL columns (created_at, title) are plain, and an ORDER BY that
	// names a NULLS order they do not have is a sort of the whole tenant
	// (200 ms for the first page of a million documents), not a scan.
	order := col + " ASC, id ASC"
	if p.Desc {
		order = col + " DESC, id DESC"
	}
	if p.Sort.Nullable() {
		order = col + " ASC NULLS FIRST, id ASC"
		if p.Desc {
			order = col + " DESC NULLS LAST, id DESC"
		}
	}
	if p.Keyset != rows.KeysetNone {
		id := a.add(p.CursorID)
		v := ""
		if p.CursorValue != nil {
			v = a.add(p.CursorValue)
		}
		where += " AND " + keysetConds[p.Keyset](col, v, id)
	}
	q := `SELECT ` + listColumns + ` FROM documents WHERE ` + where + ` ORDER BY ` + order +
		` LIMIT ` + a.add(f.Limit) + ` OFFSET ` + a.add(f.Offset)
	var docs []engram.Document
	err = e.run(ctx, tenantID, func(c querier) error {
		rs, err := query(ctx, c, "documents.list", q, a...)
		if err != nil {
			return err
		}
		defer rs.Close()
		docs, err = rows.Collect(rs, scanListed)
		return translate(err)
	})
	if err != nil {
		return nil, err
	}
	return docs, nil
}

// DocumentsCount counts the documents of a list's filters.
func (e *executor) DocumentsCount(ctx context.Context, tenantID string, f engram.DocumentFilter) (int, error) {
	var a args
	where := documentWhere(&a, tenantID, rows.DocumentConds(f))
	var n int
	err := e.run(ctx, tenantID, func(q querier) error {
		return queryRow(ctx, q, "documents.count", `SELECT count(*) FROM documents WHERE `+where, a, &n)
	})
	return n, err
}

// documentConds are the SQL of the filter terms; a term with a value is
// followed by its parameter.
var documentConds = map[rows.DocumentTerm]string{
	rows.TermStatus:         "status = ",
	rows.TermClassification: "classification = ",
	rows.TermNeedsReview:    "status = 'classified' AND NOT user_confirmed",
	rows.TermSourceType:     "source_type = ",
	rows.TermConnectorID:    "connector_id = ",
	rows.TermCreatedAfter:   "created_at >= ",
	rows.TermCreatedBefore:  "created_at < ",
}

// documentWhere builds the filter part of a list query. Only fixed column
// names appear in the text; every value is a bound parameter.
func documentWhere(a *args, tenantID string, conds []rows.DocumentCond) string {
	sqlConds := []string{"tenant_id = " + a.add(tenantID), "NOT is_deleted"}
	for _, c := range conds {
		cond := documentConds[c.Term]
		if c.Value != nil {
			cond += a.add(rows.TimeParam(c.Value, ts))
		}
		sqlConds = append(sqlConds, cond)
	}
	return strings.Join(sqlConds, " AND ")
}

// keysetConds select the rows after the cursor, given the parameters of
// its value (empty when the cursor is at a NULL) and id. A row comparison,
// not "col > v OR (col = v AND id > id)": PostgreSQL makes the row
// comparison an index condition and starts the scan at the cursor, while
// the OR is a filter that reads every row before it (900,000 rows removed
// by the filter for a page that deep in `engram bench`).
var keysetConds = map[rows.Keyset]func(col, v, id string) string{
	rows.KeysetAfter:     func(col, v, id string) string { return "(" + col + ", id) > (" + v + ", " + id + ")" },
	rows.KeysetAfterNull: func(col, _, id string) string { return "(" + col + " IS NOT NULL OR id > " + id + ")" },
	rows.KeysetBeforeOrNull: func(col, v, id string) string {
		return "((" + col + ", id) < (" + v + ", " + id + ") OR " + col + " IS NULL)"
	},
	rows.KeysetBefore:     func(col, v, id string) string { return "(" + col + ", id) < (" + v + ", " + id + ")" },
	rows.KeysetBeforeNull: func(col, _, id string) string { return "(" + col + " IS NULL AND id < " + id + ")" },
}

// DocumentGet reads one document with its content.
func (e *executor) DocumentGet(ctx context.Context, tenantID, id string, includeDeleted bool) (engram.Document, bool, error) {
	q := `SELECT ` + fullColumns + ` FROM documents WHERE tenant_id = $1 AND id = $2`
	if !includeDeleted {
		q += ` AND NOT is_deleted`
	}
	var d engram.Document
	err := e.run(ctx, tenantID, func(c querier) error {
		var err error
		d, err = oneRow(ctx, c, "documents.get", q, scanFull, tenantID, id)
		return err
	})
	return found(d, err)
}

// DocumentUpdate changes title and metadata, returning the document.
func (e *executor) DocumentUpdate(ctx context.Context, tenantID, id string, p engram.DocumentPatch, at time.Time) (engram.Document, bool, error) {
	var d engram.Document
	var titleWords string
	var titleLen int
	if p.Title != nil {
		titleWords, titleLen = textsearch.Normalize(*p.Title)
	}
	err := e.run(ctx, tenantID, func(q querier) error {
		var err error
		d, err = oneRow(ctx, q, "documents.update",
			`WITH d AS (
			     UPDATE documents SET title = coalesce($1, title), metadata = coalesce($2::jsonb, metadata), updated_at = $3
			      WHERE tenant_id = $4 AND id = $5 AND NOT is_deleted
			     RETURNING `+fullColumns+`),
			 -- A new title rewrites the A-weighted words of the
			 -- document's chunks (see migration 00017).
			 c AS (
			     UPDATE document_chunks c
			        SET search = setweight(to_tsvector('simple', $6), 'A') || ts_filter(c.search, '{d}'),
			            search_len = c.search_len - c.search_title_len + $7, search_title_len = $7
			       FROM d
			      WHERE $1::text IS NOT NULL AND c.tenant_id = $4 AND c.document_id = $5 AND c.search IS NOT NULL)
			 SELECT `+fullColumns+` FROM d`, scanFull, p.Title, p.MetadataJSON, ts(at), tenantID, id, titleWords, titleLen)
		return err
	})
	return found(d, err)
}

// DocumentsInsert inserts document rows from one JSON parameter.
func (e *executor) DocumentsInsert(ctx context.Context, tenantID string, docs []engram.PreparedDocument, at time.Time) error {
	b, err := rows.DocumentRowsJSON(docs)
	if err != nil {
		return err
	}
	return e.run(ctx, tenantID, func(q querier) error { return insertDocumentRows(ctx, q, tenantID, b, at) })
}

// ChunksInsert inserts the documents' chunks from one JSON parameter.
func (e *executor) ChunksInsert(ctx context.Context, tenantID string, docs []engram.PreparedDocument) error {
	b, err := searchChunksJSON(docs)
	if err != nil {
		return err
	}
	return e.run(ctx, tenantID, func(q querier) error { return insertChunks(ctx, q, tenantID, b) })
}
