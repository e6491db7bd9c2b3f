package postgres

import (
	"context"
	"strings"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// gapRecountQuery counts the gap panel from the gaps and answers
// themselves, in one statement built once from the fixed lists of statuses
// and categories: what tests check the kept counts against.
var gapRecountQuery = func() string {
	var b strings.Builder
	b.WriteString(`SELECT count(*) FILTER (WHERE status = 'open')`)
	for _, st := range engram.GapStatuses[1:] {
		b.WriteString(`, count(*) FILTER (WHERE status = '` + string(st) + `')`)
	}
	for _, c := range engram.GapCategories {
		b.WriteString(`, count(*) FILTER (WHERE category = '` + string(c) + `')`)
	}
	b.WriteString(`,
	  (SELECT count(*) FROM gap_answers WHERE tenant_id = $1),
	  (SELECT count(*) FROM gap_answers WHERE tenant_id = $1 AND is_verified),
	  coalesce(sum(feedback_useful), 0), coalesce(sum(feedback_not_useful), 0)
	  FROM knowledge_gaps WHERE tenant_id = $1`)
	return b.String()
}()

// gapCountsQuery reads the gap panel from the tenant's gap_counts rows
// (see migration 00013): a few dozen rows however many gaps there are.
// Built once from the fixed lists of statuses and categories.
var gapCountsQuery = func() string {
	var b strings.Builder
	sum := func(col, cond string) {
		b.WriteString(`coalesce(sum(` + col + `) FILTER (WHERE ` + cond + `), 0)::bigint`)
	}
	b.WriteString(`SELECT `)
	for i, st := range engram.GapStatuses {
		if i > 0 {
			b.WriteString(`, `)
		}
		sum(`gaps`, `status = '`+string(st)+`'`)
	}
	for _, c := range engram.GapCategories {
		b.WriteString(`, `)
		sum(`gaps`, `category = '`+string(c)+`'`)
	}
	for _, col := range []string{`answers`, `verified_answers`, `useful`, `not_useful`} {
		b.WriteString(`, `)
		sum(col, `true`)
	}
	b.WriteString(` FROM gap_counts WHERE tenant_id = $1`)
	return b.String()
}()

// GapStats reads the tenant's kept gap counts.
func (e *executor) GapStats(ctx context.Context, tenantID string) (engram.GapStats, error) {
	return e.gapStats(ctx, "gaps.stats", gapCountsQuery, tenantID)
}

// GapRecount counts the tenant's gaps, answers and feedback themselves.
func (e *executor) GapRecount(ctx context.Context, tenantID string) (engram.GapStats, error) {
	return e.gapStats(ctx, "gaps.recount", gapRecountQuery, tenantID)
}

// gapStats runs a gap stats query: gapCountsQuery, or gapRecountQuery.
func (e *executor) gapStats(ctx context.Context, op, sql, tenantID string) (engram.GapStats, error) {
	r := rows.NewGapStatsRow()
	err := e.run(ctx, tenantID, func(q querier) error {
		return queryRow(ctx, q, op, sql, []any{tenantID}, r.Dest()...)
	})
	if err != nil {
		return engram.GapStats{}, err
	}
	return r.Stats(), nil
}
