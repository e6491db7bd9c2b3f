package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/capture"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/storetest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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

	tenantTables := tablesWithTenantID(t, pool)
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
			if rel := unscopedScan(doc[0]["Plan"], tenantTables); rel != "" {
				t.Errorf("for %s, %s reads %s without a tenant_id condition:\n%s\nplan: %s", who, stmt.Op, rel, stmt.SQL, plan)
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
	if err := pool.QueryRow(ctx, `EXPLAIN (FORMAT JSON) SELECT d.id FROM documents d JOIN document_chunks c ON c.document_id = d.id
		WHERE d.tenant_id = $1`, tenants[0]).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(plan, &doc); err != nil || unscopedScan(doc[0]["Plan"], tenantTables) != "document_chunks" {
		t.Fatalf("the tenant scope detector misses a join that leaves document_chunks unscoped: %s", plan)
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

// tablesWithTenantID lists the tables of the schema with a tenant_id
// column: the tenant-owned tables.
func tablesWithTenantID(t *testing.T, pool *pgxpool.Pool) map[string]bool {
	t.Helper()
	rs, err := pool.Query(context.Background(), `SELECT c.relname FROM pg_class c
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
		WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rs, pgx.RowTo[string])
	if err != nil || len(names) < 15 {
		t.Fatalf("tables with a tenant_id: %v, %v", names, err)
	}
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out
}

// unscopedScan returns a tenant-owned relation that a plan reads with no
// condition on tenant_id (in its index condition, recheck or filter), or
// "". Every statement the store sends for a tenant must name its tenant
// for every tenant table it reads: that is what row-level security backs
// up, and what makes each statement a single-shard one when tables are
// distributed by tenant_id (docs/SCALING.md). A join condition alone does
// not count: the planner carries tenant_id = $n to every table the join
// equates it with.
func unscopedScan(node any, tenantTables map[string]bool) string {
	m, ok := node.(map[string]any)
	if !ok {
		return ""
	}
	rel := fmt.Sprint(m["Relation Name"])
	if m["Node Type"] != "ModifyTable" && tenantTables[rel] {
		scoped := false
		for _, k := range []string{"Index Cond", "Recheck Cond", "Filter", "TID Cond"} {
			if c, ok := m[k].(string); ok && strings.Contains(c, "tenant_id") {
				scoped = true
			}
		}
		// A bitmap heap scan's condition is on the index scan under it.
		if !scoped && m["Node Type"] == "Bitmap Heap Scan" {
			scoped = strings.Contains(fmt.Sprint(m["Plans"]), "tenant_id")
		}
		if !scoped {
			return rel
		}
	}
	if subs, ok := m["Plans"].([]any); ok {
		for _, sub := range subs {
			if r := unscopedScan(sub, tenantTables); r != "" {
				return r
			}
		}
	}
	return ""
}
