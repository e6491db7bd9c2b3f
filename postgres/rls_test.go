package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// rlsFixture is two tenants with a connector each, on a fresh database.
type rlsFixture struct {
	d            engram.Driver
	a, b         string // tenant ids
	connA, connB string // connector ids
}

func newRLSFixture(t *testing.T) rlsFixture {
	t.Helper()
	s := newStore(t)
	ctx := context.Background()
	f := rlsFixture{d: testdb.Driver(s)}
	for _, x := range []struct {
		slug         string
		tenant, conn *string
	}{{"alpha", &f.a, &f.connA}, {"beta", &f.b, &f.connB}} {
		tn, _, err := s.CreateTenant(ctx, x.slug, x.slug)
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.CreateConnector(ctx, tn.ID, "", "folder", "docs", []byte(`{}`), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		*x.tenant, *x.conn = tn.ID, c.ID
	}
	return f
}

// begin opens a driver transaction of tenant and returns it with its pgx
// transaction.
func (f rlsFixture) begin(t *testing.T, tenant string) (engram.Tx, pgx.Tx) {
	t.Helper()
	ctx := context.Background()
	tx, err := f.d.Begin(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(ctx) })
	return tx, postgres.RawTx(tx)
}

func tenantsSeen(t *testing.T, q pgx.Tx, sql string) map[string]int {
	t.Helper()
	rs, err := q.Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			t.Fatal(err)
		}
		seen[id]++
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return seen
}

// TestRowSecurityWithoutTenantFilter removes, on purpose, the tenant_id
// filter from statements in tenant A's transaction and shows that row
// security still keeps tenant B's rows out of reach.
func TestRowSecurityWithoutTenantFilter(t *testing.T) {
	t.Parallel()
	f := newRLSFixture(t)
	ctx := context.Background()
	tx, q := f.begin(t, f.a)

	var user string
	var super, bypass bool
	if err := q.QueryRow(ctx, `SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&user, &super, &bypass); err != nil {
		t.Fatal(err)
	}
	if user != "engram_app" || super || bypass {
		t.Fatalf("tenant transaction runs as %s (superuser %v, bypassrls %v), want engram_app without either", user, super, bypass)
	}

	// Reads with no tenant filter see tenant A only.
	for _, table := range []string{"connectors", "api_keys", "audit_log"} {
		seen := tenantsSeen(t, q, `SELECT tenant_id::text FROM `+table)
		if seen[f.b] != 0 || (table != "audit_log" && seen[f.a] == 0) {
			t.Errorf("%s without a tenant filter: %v, want tenant %s only", table, seen, f.a)
		}
	}
	// A driver method given tenant B's id finds nothing either.
	if _, ok, err := tx.ConnectorGet(ctx, f.b, f.connB); ok || err != nil {
		t.Errorf("ConnectorGet of tenant B in tenant A's transaction: found %v, %v", ok, err)
	}

	// Writes: an update and a delete without a filter touch A's rows only;
	// a row inserted for B is refused by the policy's WITH CHECK, and so is
	// moving A's row to B.
	tag, err := q.Exec(ctx, `UPDATE connectors SET name = 'renamed'`)
	if err != nil || tag.RowsAffected() != 1 {
		t.Errorf("unfiltered update: %v rows, %v; want 1 (tenant A's)", tag.RowsAffected(), err)
	}
	if tag, err := q.Exec(ctx, `DELETE FROM connectors WHERE tenant_id = $1`, f.b); err != nil || tag.RowsAffected() != 0 {
		t.Errorf("delete of tenant B's connectors: %v rows, %v; want 0", tag.RowsAffected(), err)
	}
	wantRefused(t, q, `INSERT INTO connectors (tenant_id, id, type, name) VALUES ($1, $2, 'folder', 'planted')`, f.b, engram.NewID())
	wantRefused(t, q, `UPDATE connectors SET tenant_id = $1`, f.b)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	// After the commit, tenant B's connector is untouched and A's renamed.
	for tenant, want := range map[string]string{f.a: "renamed", f.b: "docs"} {
		c, ok, err := f.d.Reader().ConnectorGet(ctx, tenant, map[string]string{f.a: f.connA, f.b: f.connB}[tenant])
		if !ok || err != nil || c.Name != want {
			t.Errorf("connector of %s = %q (found %v, %v), want %q", tenant, c.Name, ok, err, want)
		}
	}
}

// wantRefused runs sql in its own savepoint and wants row security to
// refuse it.
func wantRefused(t *testing.T, q pgx.Tx, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	sp, err := q.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Rollback(ctx)
	_, err = sp.Exec(ctx, sql, args...)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" || !strings.Contains(pe.Message, "row-level security") {
		t.Errorf("%s: %v, want a row-level security violation", sql, err)
	}
}

// TestRowSecurityTenantSetting checks that a transaction whose tenant is
// missing or not a tenant id sees no row, and that the tenant cannot
// smuggle SQL into BEGIN.
func TestRowSecurityTenantSetting(t *testing.T) {
	t.Parallel()
	f := newRLSFixture(t)
	for _, tenant := range []string{"not-a-uuid", "00000000-0000-0000-0000-00000000000'", "x'); SET LOCAL ROLE postgres; --"} {
		if q := postgres.BeginQuery(tenant); !strings.Contains(q, "set_config('engram.tenant_id', '', true)") {
			t.Errorf("BeginQuery(%q) = %q, want the tenant left empty", tenant, q)
		}
		_, q := f.begin(t, tenant)
		if seen := tenantsSeen(t, q, `SELECT tenant_id::text FROM connectors`); len(seen) != 0 {
			t.Errorf("tenant %q sees %v, want nothing", tenant, seen)
		}
	}
}

// TestRowSecurityMaintenance checks the cross-tenant role: it sees every
// tenant, and neither role may bypass row security or owns the tables.
func TestRowSecurityMaintenance(t *testing.T) {
	t.Parallel()
	f := newRLSFixture(t)
	ctx := context.Background()
	_, q := f.begin(t, "")
	if _, err := q.Exec(ctx, `SET LOCAL ROLE engram_maintenance`); err != nil {
		t.Fatal(err)
	}
	if seen := tenantsSeen(t, q, `SELECT tenant_id::text FROM connectors`); seen[f.a] != 1 || seen[f.b] != 1 {
		t.Errorf("engram_maintenance sees %v, want both tenants", seen)
	}
	if _, err := q.Exec(ctx, `RESET ROLE`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname IN ('engram_app', 'engram_maintenance')
		AND NOT rolsuper AND NOT rolbypassrls AND NOT rolcanlogin`).Scan(&n); err != nil || n != 2 {
		t.Errorf("roles without login, superuser or bypassrls: %d, %v; want 2", n, err)
	}
}

// TestRowSecurityEveryTenantTable checks that every table with a
// tenant_id column forces row security and has both policies, so that a
// table added later without them fails here.
func TestRowSecurityEveryTenantTable(t *testing.T) {
	t.Parallel()
	d := testdb.Driver(newStore(t))
	_, q := rlsFixture{d: d}.begin(t, "")
	rs, err := q.Query(context.Background(), `
		SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner),
		       (SELECT array_agg(p.polname::text ORDER BY p.polname) FROM pg_policy p WHERE p.polrelid = c.oid)
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
		WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables := 0
	for rs.Next() {
		var name, owner string
		var on, force bool
		var policies []string
		if err := rs.Scan(&name, &on, &force, &owner, &policies); err != nil {
			t.Fatal(err)
		}
		tables++
		if !on || !force || strings.Join(policies, ",") != "all_tenants,tenant_isolation" {
			t.Errorf("%s: row security %v, forced %v, policies %v", name, on, force, policies)
		}
		if owner == "engram_app" || owner == "engram_maintenance" {
			t.Errorf("%s is owned by %s, which would bypass its policies", name, owner)
		}
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	if tables < 15 {
		t.Errorf("%d tables with a tenant_id, want at least 15", tables)
	}
}

// TestRowSecurityPooled checks the statements that run outside a driver
// transaction (Reader and Writer): a tenant's statement without its
// tenant_id filter still reads and writes only that tenant's rows, a
// tenant that is not a tenant id sees nothing, and the scope ends with the
// statement, leaving nothing on the pooled connection for its next user.
func TestRowSecurityPooled(t *testing.T) {
	t.Parallel()
	f := newRLSFixture(t)
	ctx := context.Background()
	const who = `SELECT current_user || '/' || coalesce(current_setting('engram.tenant_id', true), '')`
	in, after, err := postgres.PooledScoped(ctx, f.d, f.a, `SELECT tenant_id::text FROM connectors`, who)
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 || in[0] != f.a {
		t.Errorf("tenant A's pooled read without a tenant filter sees %v, want only %s", in, f.a)
	}
	if len(after) != 1 || strings.HasPrefix(after[0], "engram_app") || strings.HasSuffix(after[0], f.a) {
		t.Errorf("after the scoped statement the connection is %v, want the login role and no tenant", after)
	}
	for _, tenant := range []string{"not-a-uuid", "x'); SET ROLE postgres; --"} {
		in, _, err := postgres.PooledScoped(ctx, f.d, tenant, `SELECT tenant_id::text FROM connectors`, who)
		if err != nil || len(in) != 0 {
			t.Errorf("tenant %q sees %v (%v), want nothing", tenant, in, err)
		}
	}
	// A write without a tenant filter changes only the tenant's rows.
	in, _, err = postgres.PooledScoped(ctx, f.d, f.a, `UPDATE connectors SET name = 'renamed' RETURNING tenant_id::text`, who)
	if err != nil || len(in) != 1 || in[0] != f.a {
		t.Errorf("tenant A's pooled update without a tenant filter touched %v (%v), want only %s", in, err, f.a)
	}
	_, names, err := postgres.PooledScoped(ctx, f.d, f.a, `SELECT 1::text`, `SELECT tenant_id::text || '=' || name FROM connectors ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{f.a: "renamed", f.b: "docs"}
	for _, n := range names {
		tenant, name, _ := strings.Cut(n, "=")
		if want[tenant] != name {
			t.Errorf("connector of %s is named %q, want %q", tenant, name, want[tenant])
		}
	}
	// A failed statement leaves no scope behind either.
	if _, _, err := postgres.PooledScoped(ctx, f.d, f.a, `SELECT 1/0`, who); err == nil {
		t.Error("SELECT 1/0 succeeded")
	}
}

// TestPoolerSettings checks that behind a transaction pooler
// (Options.Pooler), where no startup setting is sent, the settings still
// hold in every transaction and every pooled statement, of a tenant or
// not, and stay off the connection afterwards.
func TestPoolerSettings(t *testing.T) {
	t.Parallel()
	base, ok := testdb.PostgresURL(t)
	if !ok {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	s := testdb.OpenPostgres(t, base, postgres.Options{MaxConns: 2, Pooler: true, StatementTimeout: 1234 * time.Millisecond})
	d := testdb.Driver(s)
	ctx := context.Background()
	const show = `SELECT current_setting('statement_timeout') || ' ' || current_setting('plan_cache_mode')`
	for _, tenant := range []string{"", engram.NewID()} {
		in, after, err := postgres.PooledScoped(ctx, d, tenant, show, show)
		if err != nil {
			t.Fatal(err)
		}
		if len(in) != 1 || in[0] != "1234ms force_custom_plan" {
			t.Errorf("tenant %q: a pooled statement runs with %v, want 1234ms force_custom_plan", tenant, in)
		}
		if len(after) != 1 || strings.HasPrefix(after[0], "1234ms") {
			t.Errorf("tenant %q: after the pooled statement the connection has %v, want the server's defaults", tenant, after)
		}
		tx, err := d.Begin(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := postgres.RawTx(tx).QueryRow(ctx, show).Scan(&got); err != nil || got != "1234ms force_custom_plan" {
			t.Errorf("tenant %q: a transaction runs with %q (%v), want 1234ms force_custom_plan", tenant, got, err)
		}
		tx.Rollback(ctx)
	}
	if !testdb.Postgres(s).Pooler() {
		t.Error("Pooler() = false, want true")
	}
}
