package pgref

import (
	"context"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/jackc/pgx/v5"
)

// ts is a time as PostgreSQL keeps it: UTC, to the microsecond.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

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
	b.WriteString(`SELECT count(*) FILTER (WHERE NOT is_deleted)`)
	for _, st := range engram.DocumentStatuses {
		b.WriteString(`, count(*) FILTER (WHERE NOT is_deleted AND status = '` + string(st) + `')`)
	}
	for _, c := range engram.Classifications {
		b.WriteString(`, count(*) FILTER (WHERE NOT is_deleted AND classification = '` + string(c) + `')`)
	}
	b.WriteString(`, count(*) FILTER (WHERE NOT is_deleted AND status = 'classified' AND NOT user_confirmed)
	, avg(classification_confidence) FILTER (WHERE NOT is_deleted)
	, count(*) FILTER (WHERE is_deleted)
	FROM documents WHERE tenant_id = $1`)
	return b.String()
}()

// inTx runs fn in one transaction: committed when fn returns nil, rolled
// back otherwise.
func (r *Reference) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, r.pool, fn)
}
