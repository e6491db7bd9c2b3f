// Package drivertest is the driver suite: each method of engram.Driver,
// called directly against a fresh database, checked for the rows it reads
// and writes, the locks it takes and the exact number of statements it
// sends. The sqlite and postgres packages run it from their own tests; the
// use cases above the drivers have their own suite (storetest).
package drivertest

import (
	"context"
	"testing"

	"github.com/engram-kb/engram"
)

// Harness makes fresh databases for the suite.
type Harness struct {
	// New returns a fresh, migrated, empty database: the driver under
	// test, and the store of use cases over it (for fixtures only).
	New func(t *testing.T) (engram.Store, engram.Driver)
	// Damage, when set, writes with raw SQL a value that does not decode
	// (JSON of the wrong shape) into the tenant's settings and the
	// document's recipients, so the suite can check that the reads report
	// it instead of returning an empty value.
	Damage func(t *testing.T, d engram.Driver, tenantID, documentID string)
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	t.Run("Review", func(t *testing.T) { testReview(t, h) })
	t.Run("Classify", func(t *testing.T) { testClassify(t, h) })
	t.Run("Tenants", func(t *testing.T) { testTenants(t, h) })
	t.Run("Documents", func(t *testing.T) { testDocuments(t, h) })
	t.Run("Damage", func(t *testing.T) { testDamage(t, h) })
	t.Run("Jobs", func(t *testing.T) { testJobs(t, h) })
	t.Run("JobBatches", func(t *testing.T) { testJobBatches(t, h) })
	t.Run("Schedule", func(t *testing.T) { testSchedule(t, h) })
	t.Run("Connectors", func(t *testing.T) { testConnectors(t, h) })
	t.Run("Sync", func(t *testing.T) { testSync(t, h) })
	t.Run("Gaps", func(t *testing.T) { testGaps(t, h) })
	t.Run("Users", func(t *testing.T) { testUsers(t, h) })
	t.Run("Classifier", func(t *testing.T) { testClassifier(t, h) })
	t.Run("Search", func(t *testing.T) { testSearch(t, h) })
}

// fixture is a database with one tenant.
type fixture struct {
	s      engram.Store
	d      engram.Driver
	caps   engram.Capabilities
	tenant string
	actor  string
}

func newFixture(t *testing.T, h Harness) fixture {
	t.Helper()
	s, d := h.New(t)
	tn, key, err := s.CreateTenant(context.Background(), "Acme", "acme")
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	return fixture{s: s, d: d, caps: d.Capabilities(), tenant: tn.ID, actor: key.ID}
}

// docs creates n documents titled title and returns their ids.
func (f fixture) docs(t *testing.T, n int, title, content string) []string {
	t.Helper()
	in := make([]engram.NewDocument, n)
	for i := range in {
		in[i] = engram.NewDocument{Title: title, Content: content}
	}
	p, err := engram.PrepareDocuments(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.CreateDocuments(context.Background(), f.tenant, p); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range p {
		ids[i] = p[i].ID
	}
	return ids
}

// statements runs fn with a statement counter and returns how many
// statements it sent.
func statements(t *testing.T, fn func(ctx context.Context) error) int {
	t.Helper()
	ctx, st := engram.WithQueryStats(context.Background())
	if err := fn(ctx); err != nil {
		t.Fatal(err)
	}
	return st.Count()
}

// inTx runs fn in a transaction of f's driver and commits it. It is a
// transaction across tenants (Begin with no tenant): fixtures write the
// rows of whichever tenants a case names, and cross-tenant methods
// (ConnectorsDue, CountsCompact) run here too. Row-level security of a
// tenant's transaction is the engine's own test (postgres/rls_test.go).
func (f fixture) inTx(t *testing.T, ctx context.Context, fn func(tx engram.Tx) error) error {
	t.Helper()
	tx, err := f.d.Begin(ctx, "")
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// wantStatements fails the test when got is not want.
func wantStatements(t *testing.T, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("%s sent %d statements, want %d", what, got, want)
	}
}

// ifLocks returns 1 when the engine locks rows, else 0.
func ifLocks(c engram.Capabilities) int {
	if c.RowLocks {
		return 1
	}
	return 0
}
