// Package storetest is engram's conformance suite: tests that take a fresh
// store and exercise it. The sqlite and postgres packages each run it from
// their own tests, so both engines are held to the same behaviour, the same
// statement counts and the same tenant isolation.
package storetest

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
)

// Inspector reads rows behind the store's back, so tests check what is in
// the database and not only what a method returned. Each engine implements
// it in its own tests, with its own SQL.
type Inspector interface {
	// ChunkRows counts document_chunks rows of a document.
	ChunkRows(t testing.TB, tenantID, docID string) int
	// DocumentRows counts documents rows (deleted or not) of a tenant.
	DocumentRows(t testing.TB, tenantID string) int
	// TombstoneRows counts deleted_documents rows of a tenant.
	TombstoneRows(t testing.TB, tenantID string) int
	// AuditRows counts audit_log rows of a tenant with the given action and
	// returns the target_count of the newest one.
	AuditRows(t testing.TB, tenantID, action string) (rows, lastCount int)
	// InsertConnector creates a connector row and returns its id.
	InsertConnector(t testing.TB, tenantID string) string
	// GapRows counts knowledge_gaps rows of a tenant.
	GapRows(t testing.TB, tenantID string) int
	// GapChildRows counts the rows of a gap in table, one of
	// gap_questions, gap_answers, gap_documents and gap_feedback.
	GapChildRows(t testing.TB, tenantID, gapID, table string) int
	// AuditTarget returns the target_type of the newest audit_log row of a
	// tenant with the given action ("" when there is none).
	AuditTarget(t testing.TB, tenantID, action string) string
	// AuditActor returns the actor of the newest audit_log row of a tenant
	// with the given action: its key id and its user id ("" for none).
	AuditActor(t testing.TB, tenantID, action string) (keyID, userID string)
	// AccountSecrets returns every stored secret-derived value of the
	// tenant: password hashes, session and invitation token hashes.
	AccountSecrets(t testing.TB, tenantID string) []string
	// RecountStats counts the tenant's documents themselves, the way
	// DocumentStats did before the counts were kept (the bench's floor).
	RecountStats(t testing.TB, tenantID string) engram.DocumentStats
	// RecountGapStats counts the tenant's gaps and answers themselves.
	RecountGapStats(t testing.TB, tenantID string) engram.GapStats
}

// Harness makes fresh stores for the suite.
type Harness struct {
	// New returns a new, migrated, empty store and an inspector of it.
	New func(t *testing.T) (engram.Store, Inspector)
	// AttachJobs attaches the job engine to a store made by New, so that
	// EnqueueJob works (the suite runs batches itself). Job tests skip
	// without it.
	AttachJobs func(t *testing.T, s engram.Store)
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	t.Run("Tenants", func(t *testing.T) { testTenants(t, h) })
	t.Run("Documents", func(t *testing.T) { testDocuments(t, h) })
	t.Run("List", func(t *testing.T) { testList(t, h) })
	t.Run("Bulk", func(t *testing.T) { testBulk(t, h); testBulkSemantics(t, h) })
	t.Run("Isolation", func(t *testing.T) { testIsolation(t, h) })
	t.Run("Connectors", func(t *testing.T) { testConnectors(t, h) })
	t.Run("Jobs", func(t *testing.T) { testJobs(t, h); testSyncJobs(t, h); testSchedule(t, h) })
	t.Run("Gaps", func(t *testing.T) { testGaps(t, h) })
	t.Run("Layering", func(t *testing.T) { testLayering(t, h) })
	t.Run("Accounts", func(t *testing.T) {
		t.Run("Audit", func(t *testing.T) { testAccounts(t, h) })
		t.Run("LastAdminRace", func(t *testing.T) { testLastAdminRace(t, h) })
	})
	t.Run("Classifier", func(t *testing.T) { testClassifier(t, h) })
	t.Run("Search", func(t *testing.T) { testSearch(t, h) })
	t.Run("Vectors", func(t *testing.T) { testVectors(t, h) })
}

// fixture is a store with one tenant.
type fixture struct {
	s      engram.Store
	in     Inspector
	tenant engram.Tenant
	key    engram.NewKey
}

func newFixture(t *testing.T, h Harness) fixture {
	t.Helper()
	s, in := h.New(t)
	tn, key, err := s.CreateTenant(context.Background(), "Acme", "acme")
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	f := fixture{s: s, in: in, tenant: tn, key: key}
	// Whatever a test did, the kept counts still match a recount of the
	// documents and gaps, before and after their deltas are compacted.
	t.Cleanup(func() {
		checkCounts(t, f, "after the test")
		if _, err := s.CompactCounts(context.Background(), 1000); err != nil {
			t.Errorf("compact document counts: %v", err)
		}
		checkCounts(t, f, "after compaction")
	})
	return f
}

// checkCounts compares DocumentStats and GapStats with recounts of the
// documents, gaps and answers.
func checkCounts(t *testing.T, f fixture, when string) {
	t.Helper()
	got, err := f.s.DocumentStats(context.Background(), f.tenant.ID)
	if err != nil {
		t.Errorf("stats %s: %v", when, err)
		return
	}
	want := f.in.RecountStats(t, f.tenant.ID)
	avgOK := (got.AverageConfidence == nil) == (want.AverageConfidence == nil) &&
		(got.AverageConfidence == nil || math.Abs(*got.AverageConfidence-*want.AverageConfidence) < 1e-9)
	got.AverageConfidence, want.AverageConfidence = nil, nil
	if !avgOK || !reflect.DeepEqual(got, want) {
		t.Errorf("kept counts %s = %+v, the documents say %+v (average confidence matches: %v)", when, got, want, avgOK)
	}
	gaps, err := f.s.GapStats(context.Background(), f.tenant.ID)
	if err != nil {
		t.Errorf("gap stats %s: %v", when, err)
		return
	}
	if want := f.in.RecountGapStats(t, f.tenant.ID); !reflect.DeepEqual(gaps, want) {
		t.Errorf("kept gap counts %s = %+v, the gaps say %+v", when, gaps, want)
	}
}

// counted returns a context that counts statements.
func counted() (context.Context, *engram.QueryStats) {
	return engram.WithQueryStats(context.Background())
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := engram.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func mustPrepare(t testing.TB, docs []engram.NewDocument) []engram.PreparedDocument {
	t.Helper()
	p, err := engram.PrepareDocuments(docs)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	return p
}

// createDocs creates n documents with the given title prefix and returns
// their ids in creation order.
func createDocs(t testing.TB, s engram.Store, tenantID string, n int, title string, content string) []string {
	t.Helper()
	docs := make([]engram.NewDocument, n)
	for i := range docs {
		docs[i] = engram.NewDocument{Title: title, Content: content}
	}
	ids := make([]string, 0, n)
	for start := 0; start < n; start += engram.MaxDocumentsPerCreate {
		p := mustPrepare(t, docs[start:min(n, start+engram.MaxDocumentsPerCreate)])
		if err := s.CreateDocuments(context.Background(), tenantID, p); err != nil {
			t.Fatalf("create documents: %v", err)
		}
		for i := range p {
			ids = append(ids, p[i].ID)
		}
	}
	return ids
}

func testTenants(t *testing.T, h Harness) {
	t.Parallel()
	f := newFixture(t, h)
	ctx := context.Background()

	_, _, err := f.s.CreateTenant(ctx, "Other Acme", "acme")
	wantCode(t, err, engram.EConflict)
	_, _, err = f.s.CreateTenant(ctx, "Bad", "Bad Slug")
	wantCode(t, err, engram.EInvalid)

	got, err := f.s.TenantBySlug(ctx, "acme")
	if err != nil || got.ID != f.tenant.ID || got.Name != "Acme" || !got.IsActive {
		t.Fatalf("TenantBySlug = %+v, %v", got, err)
	}
	_, err = f.s.TenantBySlug(ctx, "nope")
	wantCode(t, err, engram.ENotFound)

	n, err := f.s.CountTenants(ctx)
	if err != nil || n != 1 {
		t.Fatalf("CountTenants = %d, %v; want 1", n, err)
	}

	p, err := f.s.Authenticate(ctx, f.key.Secret)
	if err != nil {
		t.Fatalf("authenticate admin key: %v", err)
	}
	if p.TenantID != f.tenant.ID || p.Role != engram.RoleAdmin || p.KeyID != f.key.ID || p.TenantSlug != "acme" {
		t.Fatalf("principal = %+v", p)
	}
	_, err = f.s.Authenticate(ctx, f.key.Secret+"x")
	wantCode(t, err, engram.EUnauthorized)

	vk, err := f.s.CreateAPIKey(ctx, "acme", engram.RoleViewer, "dashboard", nil)
	if err != nil {
		t.Fatalf("create viewer key: %v", err)
	}
	if !strings.HasPrefix(vk.Secret, vk.Prefix) || vk.Secret == f.key.Secret {
		t.Fatalf("key %+v", vk)
	}
	p, err = f.s.Authenticate(ctx, vk.Secret)
	if err != nil || p.Role != engram.RoleViewer || p.TenantID != f.tenant.ID {
		t.Fatalf("viewer principal = %+v, %v", p, err)
	}
	_, err = f.s.CreateAPIKey(ctx, "nope", engram.RoleViewer, "", nil)
	wantCode(t, err, engram.ENotFound)
	_, err = f.s.CreateAPIKey(ctx, "acme", engram.Role("owner"), "", nil)
	wantCode(t, err, engram.EInvalid)

	// A second authentication within a minute does not write last_used_at
	// again: one statement.
	ctx2, st := counted()
	if _, err := f.s.Authenticate(ctx2, vk.Secret); err != nil {
		t.Fatal(err)
	}
	if st.Count() != 1 {
		t.Fatalf("repeat authentication took %d statements, want 1", st.Count())
	}
}
