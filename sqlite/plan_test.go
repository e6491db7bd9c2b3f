package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/engram-kb/engram/internal/capture"
	"github.com/engram-kb/engram/service"
	"github.com/engram-kb/engram/sqlite"
	"github.com/engram-kb/engram/storetest"
)

// fullScan matches an EXPLAIN QUERY PLAN step that reads a whole table
// without an index: "SCAN documents" or "SCAN d" (an alias), but not a
// scan of a json_each virtual table ("… VIRTUAL TABLE …"), of the
// statement's own subqueries and CTEs (see subquery), or a covering-index
// scan ("… USING …").
var fullScan = regexp.MustCompile(`^SCAN (\w+)$`)

// tenantRange matches a look-up of documents by tenant alone, or by
// tenant and a range: right for a list with LIMIT, wrong for a statement
// that is given its ids, which must go through the primary key.
var tenantRange = regexp.MustCompile(`^SEARCH (documents|d) USING (COVERING )?INDEX \w+ \(tenant_id=\?( AND \w+[<>]\?)?\)$`)

// subquery matches the plan steps that name a subquery or CTE (whose rows
// are the statement's own, not a table's): scanning those is fine.
var subquery = regexp.MustCompile(`^(?:MATERIALIZE|CO-ROUTINE) (\w+)$`)

// TestPlansUseIndexes is the SQLite side of the PostgreSQL plan test: every
// statement the store sends for a small tenant among 200,000 documents is
// run through EXPLAIN QUERY PLAN, and none may scan a table without an
// index.
func TestPlansUseIndexes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "plans.db")
	d, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := service.New(d, service.Options{})
	defer s.Close()
	ctx := context.Background()
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	var tenants, actors []string
	for i, n := range []int{20000, 45000, 45000, 45000, 45000} {
		tn, key, err := s.CreateTenant(ctx, fmt.Sprint("Tenant ", i), fmt.Sprint("tenant-", i))
		if err != nil {
			t.Fatal(err)
		}
		conn, err := s.CreateConnector(ctx, tn.ID, key.ID, "push", "seed", json.RawMessage(`{}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		seed(t, raw, i, tn.ID, conn.ID, n)
		tenants, actors = append(tenants, tn.ID), append(actors, key.ID)
	}
	if _, err := raw.Exec(`ANALYZE`); err != nil {
		t.Fatal(err)
	}

	explainAll := func(tenantID, actor, who string) int {
		cctx, captured := capture.With(ctx)
		storetest.ExerciseAll(cctx, t, s, tenantID, actor)
		checked := 0
		for _, st := range captured.Statements() {
			details := explain(t, raw, st.SQL, st.Args)
			own := map[string]bool{}
			for _, d := range details {
				if m := subquery.FindStringSubmatch(d); m != nil {
					own[m[1]] = true
				}
			}
			for _, detail := range details {
				if m := fullScan.FindStringSubmatch(detail); m != nil && !own[m[1]] {
					t.Errorf("for %s, %s: %q\n%s", who, st.Op, detail, st.SQL)
				}
				if strings.Contains(st.SQL, "json_each") && tenantRange.MatchString(detail) {
					t.Errorf("for %s, %s reads a whole tenant's documents although it is given ids: %q\n%s", who, st.Op, detail, st.SQL)
				}
			}
			checked++
		}
		t.Logf("EXPLAINed %d statements for %s", checked, who)
		return checked
	}
	checked := explainAll(tenants[0], actors[0], "an analyzed tenant")
	if checked < 40 {
		t.Fatalf("only %d statements captured", checked)
	}
	// A tenant that grew after the last ANALYZE (a first big import): the
	// statistics in sqlite_stat1 know nothing of its rows.
	tn, key, err := s.CreateTenant(ctx, "Newcomer", "newcomer")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := s.CreateConnector(ctx, tn.ID, key.ID, "push", "seed", json.RawMessage(`{}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	seed(t, raw, len(tenants), tn.ID, conn.ID, 30000)
	explainAll(tn.ID, key.ID, "a tenant seeded after ANALYZE")
	// The detector itself.
	caught := false
	for _, d := range explain(t, raw, `SELECT id FROM documents WHERE content LIKE '%needle%'`, nil) {
		caught = caught || fullScan.MatchString(d)
	}
	if !caught {
		t.Fatal("the detector misses a full scan of documents")
	}
}

func explain(t *testing.T, db *sql.DB, q string, args []any) []string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN: %v\n%s", err, q)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	return out
}

// seed writes n documents for a tenant straight in SQL: half from the
// connector (external ids ext-2, ext-4, …), one chunk each, n/4 tombstones.
func seed(t *testing.T, db *sql.DB, tenantNo int, tenantID, connectorID string, n int) {
	t.Helper()
	for _, q := range []string{
		`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?4)
		 INSERT INTO documents (tenant_id, id, connector_id, external_id, source_type, title, content, content_hash,
		        sender_email, source_created_at, status, classification, classification_confidence, user_confirmed,
		        chunk_count, created_at, updated_at, is_deleted)
		 SELECT ?1, printf('%08x-0000-7000-8000-%012x', ?3, n),
		        CASE WHEN n % 2 = 0 THEN ?2 END, CASE WHEN n % 2 = 0 THEN 'ext-' || n END,
		        CASE n % 3 WHEN 0 THEN 'mail' WHEN 1 THEN 'folder' ELSE 'api' END, 'doc ' || n,
		        'content of document ' || n, hex(n), 'user' || (n % 500) || '@example.com',
		        CASE WHEN n % 4 <> 0 THEN printf('2024-01-01T%02d:%02d:00.000000Z', (n / 60) % 24, n % 60) END,
		        CASE n % 6 WHEN 0 THEN 'pending' WHEN 1 THEN 'classified' WHEN 2 THEN 'confirmed'
		                   WHEN 3 THEN 'rejected' WHEN 4 THEN 'processing' ELSE 'archived' END,
		        CASE n % 4 WHEN 0 THEN 'work' WHEN 1 THEN 'personal' WHEN 2 THEN 'spam' ELSE 'unknown' END,
		        CASE WHEN n % 5 <> 0 THEN (n % 100) / 100.0 END, n % 7 = 0, 1,
		        printf('2025-01-01T%02d:%02d:%02d.%06dZ', (n / 3600) % 24, (n / 60) % 60, n % 60, n),
		        '2025-01-01T00:00:00.000000Z', n % 50 = 0
		   FROM g`,
		`INSERT INTO document_chunks (tenant_id, document_id, chunk_index, content, token_count)
		 SELECT tenant_id, id, 0, content, 4 FROM documents WHERE tenant_id = ?1 AND ?2 <> '' AND ?3 >= 0 AND ?4 > 0`,
		`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?4 / 4)
		 INSERT INTO deleted_documents (tenant_id, id, connector_id, external_id, source_type, original_title, deleted_at)
		 SELECT ?1, printf('%08x-0000-7000-9000-%012x', ?3, n), ?2, 'gone-' || n, 'mail', 'gone', '2025-01-01T00:00:00.000000Z' FROM g`,
		`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?4 / 4)
		 INSERT INTO knowledge_gaps (tenant_id, id, title, category, priority, status, fingerprint, created_at, updated_at, closed_at)
		 SELECT ?1, printf('%08x-0000-7000-a000-%012x', ?3, n), 'gap ' || n,
		        CASE n % 8 WHEN 0 THEN 'decision' WHEN 1 THEN 'technical' WHEN 2 THEN 'process' WHEN 3 THEN 'context'
		                   WHEN 4 THEN 'relationship' WHEN 5 THEN 'timeline' WHEN 6 THEN 'outcome' ELSE 'rationale' END,
		        1 + n % 5,
		        CASE n % 5 WHEN 0 THEN 'open' WHEN 1 THEN 'in_progress' WHEN 2 THEN 'answered' WHEN 3 THEN 'verified' ELSE 'closed' END,
		        'seed-' || n, printf('2025-01-01T%02d:%02d:%02d.%06dZ', (n / 3600) % 24, (n / 60) % 60, n % 60, n),
		        '2025-01-01T00:00:00.000000Z', CASE WHEN n % 5 = 4 THEN '2025-01-02T00:00:00.000000Z' END
		   FROM g WHERE ?2 <> ''`,
		`INSERT INTO gap_questions (tenant_id, gap_id, position, text)
		 SELECT tenant_id, id, 0, 'why?' FROM knowledge_gaps WHERE tenant_id = ?1 AND ?2 <> '' AND ?3 >= 0 AND ?4 > 0`,
	} {
		if _, err := db.Exec(q, tenantID, connectorID, tenantNo, n); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
}
