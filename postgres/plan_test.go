package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/capture"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/storetest"
	"github.com/jackc/pgx/v5"
)

// watchedTables must never be read with a sequential scan by a statement
// the store sends: at a million rows that is the difference between
// milliseconds and seconds.
var watchedTables = map[string]bool{"documents": true, "document_chunks": true, "deleted_documents": true, "knowledge_gaps": true}

// TestPlansUseIndexes seeds 200,000 documents across five tenants, runs
// every kind of store call for the smallest tenant while capturing the
// statements, and EXPLAINs each one: none may scan a watched table
// sequentially.
func TestPlansUseIndexes(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	pool := testdb.Postgres(s).Pool()

	var tenants []string
	var keys []engram.NewKey
	for i, n := range []int{20000, 45000, 45000, 45000, 45000} {
		tn, key, err := s.CreateTenant(ctx, fmt.Sprint("Tenant ", i), fmt.Sprint("tenant-", i))
		if err != nil {
			t.Fatal(err)
		}
		tenants, keys = append(tenants, tn.ID), append(keys, key)
		conn, err := s.CreateConnector(ctx, tn.ID, key.ID, "push", "seed", json.RawMessage(`{}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		seed(t, pool, tn.ID, conn.ID, n)
	}
	unbounded(t, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `ANALYZE`)
		return err
	})

	explainAll := func(tenantID, actor, who string) int {
		cctx, captured := capture.With(ctx)
		storetest.ExerciseAll(cctx, t, s, tenantID, actor)
		checked := 0
		for _, stmt := range captured.Statements() {
			var plan []byte
			if err := pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+stmt.SQL, stmt.Args...).Scan(&plan); err != nil {
				t.Fatalf("EXPLAIN %s: %v", stmt.Op, err)
			}
			var doc []map[string]any
			if err := json.Unmarshal(plan, &doc); err != nil {
				t.Fatal(err)
			}
			if rel := seqScan(doc[0]["Plan"]); rel != "" {
				t.Errorf("for %s, %s scans %s sequentially:\n%s\nplan: %s", who, stmt.Op, rel, stmt.SQL, plan)
			}
			checked++
		}
		t.Logf("EXPLAINed %d statements for %s", checked, who)
		return checked
	}
	checked := explainAll(tenants[0], keys[0].ID, "an analyzed tenant")
	// A tenant that grew after the last ANALYZE (a first big import, before
	// autovacuum gets to it): the planner knows nothing of its rows.
	tn, key, err := s.CreateTenant(ctx, "Newcomer", "newcomer")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := s.CreateConnector(ctx, tn.ID, key.ID, "push", "seed", json.RawMessage(`{}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	seed(t, pool, tn.ID, conn.ID, 30000)
	explainAll(tn.ID, key.ID, "a tenant seeded after ANALYZE")
	// The detector itself: a query no index serves is caught.
	var plan []byte
	if err := pool.QueryRow(ctx, `EXPLAIN (FORMAT JSON) SELECT id FROM documents WHERE content LIKE '%needle%'`).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	var doc []map[string]any
	if err := json.Unmarshal(plan, &doc); err != nil || seqScan(doc[0]["Plan"]) != "documents" {
		t.Fatalf("the detector misses a sequential scan: %s", plan)
	}
	if checked < 40 {
		t.Fatalf("only %d statements captured", checked)
	}
}

// seqScan returns the watched relation a plan scans sequentially, or "".
func seqScan(node any) string {
	m, ok := node.(map[string]any)
	if !ok {
		return ""
	}
	if m["Node Type"] == "Seq Scan" && watchedTables[fmt.Sprint(m["Relation Name"])] {
		return fmt.Sprint(m["Relation Name"])
	}
	if subs, ok := m["Plans"].([]any); ok {
		for _, sub := range subs {
			if rel := seqScan(sub); rel != "" {
				return rel
			}
		}
	}
	return ""
}
