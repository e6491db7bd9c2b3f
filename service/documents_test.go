package service_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/service"
)

// The rules service adds over the drivers, on every engine: requests it
// refuses send no statement at all, and a key's last use is written at
// most once a minute by the clock the store is given.

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// withClock returns the use cases over s's driver, on clock c.
func withClock(s engram.Store, c *clock) *service.Store {
	return service.New(testdb.Driver(s), service.Options{Clock: c.now})
}

// refused runs fn with a statement counter and checks that it failed with
// code without sending a statement.
func refused(t *testing.T, what, code string, fn func(ctx context.Context) error) {
	t.Helper()
	ctx, st := engram.WithQueryStats(context.Background())
	err := fn(ctx)
	if engram.ErrorCode(err) != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
	if st.Count() != 0 {
		t.Errorf("%s sent %d statements, want none", what, st.Count())
	}
}

func TestRefusedRequestsSendNothing(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		ctx := context.Background()
		tn, _, err := s.CreateTenant(ctx, "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		p, err := engram.PrepareDocuments([]engram.NewDocument{{Title: "one", Content: "text"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateDocuments(ctx, tn.ID, p); err != nil {
			t.Fatal(err)
		}
		byTitle := engram.CursorFor(engram.Document{ID: p[0].ID, Title: "one"}, engram.SortTitle, false)
		bad := engram.Cursor{Sort: engram.SortCreatedAt, ID: p[0].ID, Value: new(string)}
		filters := []struct {
			name string
			f    engram.DocumentFilter
		}{
			{"unknown sort", engram.DocumentFilter{Sort: "id; --", Limit: 1}},
			{"limit too large", engram.DocumentFilter{Sort: engram.SortTitle, Limit: engram.MaxListLimit + 1}},
			{"negative limit", engram.DocumentFilter{Sort: engram.SortTitle, Limit: -1}},
			{"negative offset", engram.DocumentFilter{Sort: engram.SortTitle, Limit: 1, Offset: -1}},
			{"cursor and offset", engram.DocumentFilter{Sort: engram.SortTitle, Limit: 1, Offset: 1, Cursor: &byTitle}},
			{"cursor of another order", engram.DocumentFilter{Sort: engram.SortTitle, Desc: true, Limit: 1, Cursor: &byTitle}},
			{"cursor with a bad value", engram.DocumentFilter{Sort: engram.SortCreatedAt, Limit: 1, Cursor: &bad}},
		}
		for _, c := range filters {
			refused(t, "ListDocuments with "+c.name, engram.EInvalid, func(ctx context.Context) error {
				_, err := s.ListDocuments(ctx, tn.ID, c.f)
				return err
			})
		}
		refused(t, "CreateDocuments of none", engram.EInvalid, func(ctx context.Context) error {
			return s.CreateDocuments(ctx, tn.ID, nil)
		})
		refused(t, "CreateDocuments of too many", engram.EInvalid, func(ctx context.Context) error {
			return s.CreateDocuments(ctx, tn.ID, make([]engram.PreparedDocument, engram.MaxDocumentsPerCreate+1))
		})
		empty := ""
		refused(t, "UpdateDocument to an empty title", engram.EInvalid, func(ctx context.Context) error {
			_, err := s.UpdateDocument(ctx, tn.ID, p[0].ID, engram.DocumentPatch{Title: &empty})
			return err
		})
		refused(t, "UpdateDocument to metadata that is not an object", engram.EInvalid, func(ctx context.Context) error {
			_, err := s.UpdateDocument(ctx, tn.ID, p[0].ID, engram.DocumentPatch{Metadata: json.RawMessage(`[1]`)})
			return err
		})
		refused(t, "CreateTenant with a bad slug", engram.EInvalid, func(ctx context.Context) error {
			_, _, err := s.CreateTenant(ctx, "Bad", "-bad")
			return err
		})
		refused(t, "CreateAPIKey of an unknown role", engram.EInvalid, func(ctx context.Context) error {
			_, err := s.CreateAPIKey(ctx, "acme", engram.Role("owner"), "", nil)
			return err
		})

		// A zero limit is the default one, not an empty page.
		ctx2, st := engram.WithQueryStats(ctx)
		pg, err := s.ListDocuments(ctx2, tn.ID, engram.DocumentFilter{Sort: engram.SortTitle})
		if err != nil || len(pg.Documents) != 1 || pg.HasMore || st.Count() != 1 {
			t.Errorf("ListDocuments with no limit = %+v, %v in %d statements; want the document in 1", pg, err, st.Count())
		}
		// A zero filter, as code may build it, lists by creation time.
		if pg, err := s.ListDocuments(ctx, tn.ID, engram.DocumentFilter{}); err != nil || len(pg.Documents) != 1 {
			t.Errorf("ListDocuments with a zero filter = %+v, %v", pg, err)
		}
		// A patch is validated by the store, not only by its callers.
		u, err := s.UpdateDocument(ctx, tn.ID, p[0].ID, engram.DocumentPatch{Metadata: json.RawMessage(` { "b" : 2 } `)})
		if err != nil || string(u.Metadata) != `{"b":2}` || u.Title != "one" {
			t.Errorf("UpdateDocument of unvalidated metadata = %+v, %v", u, err)
		}
	})
}

func TestAuthenticateNotesUseOncePerMinute(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		c := &clock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
		st := withClock(s, c)
		ctx := context.Background()
		_, key, err := st.CreateTenant(ctx, "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			after      time.Duration
			statements int
			lastUsed   time.Duration // since the start
		}{
			{0, 2, 0},                              // never used: noted
			{59 * time.Second, 1, 0},               // within the minute
			{2 * time.Second, 2, 61 * time.Second}, // past it: noted again
			{0, 1, 61 * time.Second},
		}
		start := c.now()
		for i, step := range steps {
			c.add(step.after)
			qctx, qs := engram.WithQueryStats(ctx)
			p, err := st.Authenticate(qctx, key.Secret)
			if err != nil || p.KeyID != key.ID {
				t.Fatalf("step %d: %+v, %v", i, p, err)
			}
			if qs.Count() != step.statements {
				t.Errorf("step %d: %d statements, want %d", i, qs.Count(), step.statements)
			}
			k, _, err := st.Driver().Reader().APIKeyAuthenticate(ctx, engram.HashKey(key.Secret))
			if err != nil || k.LastUsedAt == nil || !k.LastUsedAt.Equal(start.Add(step.lastUsed)) {
				t.Errorf("step %d: last used %v, %v; want %v", i, k.LastUsedAt, err, start.Add(step.lastUsed))
			}
		}
	})
}
