package sqliteref

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/engram-kb/engram"
)

// timeFormat is the text engram's SQLite engine stores times as; the
// yardsticks write the same, so that engram sorts and reads their rows
// like its own.
const timeFormat = "2006-01-02T15:04:05.000000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func nowText() string { return fmtTime(time.Now()) }

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// listColumns are the columns of a list item, as engram's list page
// reads them: everything but content.
const listColumns = `id, connector_id, external_id, source_type, source_url, title, content_hash,
	metadata, sender, sender_email, recipients, source_created_at, source_updated_at, status,
	classification, classification_confidence, classification_reason, rejection_reason,
	user_confirmed, user_confirmed_at, chunk_count, created_at, updated_at, is_deleted, deleted_at`

// statsQuery counts the whole stats panel in one pass over the tenant's
// documents: the recount engram made on every request before it kept
// counts. It is built from the fixed lists of statuses and classes.
var statsQuery = func() string {
	var b strings.Builder
	b.WriteString(`SELECT count(*) FILTER (WHERE is_deleted = 0)`)
	for _, st := range engram.DocumentStatuses {
		b.WriteString(`, count(*) FILTER (WHERE is_deleted = 0 AND status = '` + string(st) + `')`)
	}
	for _, c := range engram.Classifications {
		b.WriteString(`, count(*) FILTER (WHERE is_deleted = 0 AND classification = '` + string(c) + `')`)
	}
	b.WriteString(`, count(*) FILTER (WHERE is_deleted = 0 AND status = 'classified' AND user_confirmed = 0)
	, avg(classification_confidence) FILTER (WHERE is_deleted = 0)
	, count(*) FILTER (WHERE is_deleted = 1)
	FROM documents WHERE tenant_id = ?`)
	return b.String()
}()

// inTx runs fn in one transaction on the writer: committed when fn
// returns nil, rolled back otherwise.
func (r *Reference) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := r.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
