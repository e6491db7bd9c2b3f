package drivertest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

func testClassifier(t *testing.T, h Harness) {
	t.Run("Models", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		other, _, err := f.s.CreateTenant(context.Background(), "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		latest := func(tenant string, data bool) *engram.ClassifierModel {
			var m *engram.ClassifierModel
			wantStatements(t, "ClassifierModelLatest", statements(t, func(ctx context.Context) (err error) {
				m, err = f.d.Reader().ClassifierModelLatest(ctx, tenant, data)
				return err
			}), 1)
			return m
		}
		if m := latest(f.tenant, true); m != nil {
			t.Fatalf("a new tenant has model %+v", m)
		}
		at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		for want := 1; want <= 2; want++ {
			m := engram.ClassifierModel{CreatedAt: at, CreatedBy: f.actor, TrainingSize: 40 * want,
				Classes: []byte(`{"spam": 20}`), Figures: []byte(`{"accuracy": 0.9}`), Data: []byte{1, 2, byte(want), 0}}
			var v int
			wantStatements(t, "ClassifierModelInsert", statements(t, func(ctx context.Context) error {
				return f.inTx(t, ctx, func(tx engram.Tx) (err error) {
					v, err = tx.ClassifierModelInsert(ctx, f.tenant, m)
					return err
				})
			}), 1)
			if v != want {
				t.Errorf("inserted version %d, want %d", v, want)
			}
		}
		m := latest(f.tenant, false)
		if m == nil || m.Version != 2 || m.TrainingSize != 80 || m.Data != nil || !m.CreatedAt.Equal(at) || m.CreatedBy != f.actor {
			t.Fatalf("latest without data = %+v", m)
		}
		if m := latest(f.tenant, true); m == nil || !bytes.Equal(m.Data, []byte{1, 2, 2, 0}) {
			t.Errorf("latest with data = %+v", m)
		}
		if m := latest(other.ID, true); m != nil {
			t.Errorf("another tenant reads model %+v", m)
		}
	})

	t.Run("Decisions", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		ids := f.docs(t, 8, "decide me", "text")
		spam, work := engram.ClassSpam, engram.ClassWork
		// 0,1: set by a person; 2: confirmed with a class; 3: rejected;
		// 4: classified by the machine; 5: confirmed then deleted;
		// 6: confirmed as unknown; 7: pending.
		if _, err := f.s.SetClassification(ctx, f.tenant, f.actor, ids[:2], spam); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.ConfirmDocuments(ctx, f.tenant, f.actor, []string{ids[2], ids[5]}, &work); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.SetClassification(ctx, f.tenant, f.actor, ids[3:4], spam); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.RejectDocuments(ctx, f.tenant, f.actor, ids[3:4], "no"); err != nil {
			t.Fatal(err)
		}
		allWork := func(_ context.Context, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
			out := make([]engram.ClassifyResult, len(docs))
			for i := range out {
				out[i] = engram.ClassifyResult{Classification: engram.ClassWork, Confidence: 0.8}
			}
			return out, nil
		}
		if _, err := f.s.ClassifyDocuments(ctx, f.tenant, f.actor, engram.ClassifySelection{IDs: ids[4:5]}, allWork); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.DeleteDocuments(ctx, f.tenant, f.actor, ids[5:6], false); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.SetClassification(ctx, f.tenant, f.actor, ids[6:7], engram.ClassUnknown); err != nil {
			t.Fatal(err)
		}
		want := slices.Sorted(slices.Values(ids[:3]))
		var got []engram.Decision
		after := ""
		for {
			var page []engram.Decision
			wantStatements(t, "DecisionsRead", statements(t, func(ctx context.Context) (err error) {
				page, err = f.d.Reader().DecisionsRead(ctx, f.tenant, after, 2)
				return err
			}), 1)
			got = append(got, page...)
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1].ID
		}
		var gotIDs []string
		for _, d := range got {
			gotIDs = append(gotIDs, d.ID)
			wantClass := spam
			if d.ID == ids[2] {
				wantClass = work
			}
			if d.Classification != wantClass || d.Title != "decide me" || d.Content != "text" {
				t.Errorf("decision %+v", d)
			}
		}
		if !slices.Equal(gotIDs, want) {
			t.Errorf("decisions %v, want %v", gotIDs, want)
		}
		var n int
		wantStatements(t, "DecisionCount", statements(t, func(ctx context.Context) (err error) {
			n, err = f.d.Reader().DecisionCount(ctx, f.tenant)
			return err
		}), 1)
		if n != 3 {
			t.Errorf("DecisionCount = %d, want 3", n)
		}
		// Due for a first model with 2×minNew decisions; after a model of
		// all 3, only with minNew (or a tenth) more.
		due := func(minNew int) bool {
			var ids []string
			wantStatements(t, "ClassifierDue", statements(t, func(ctx context.Context) (err error) {
				ids, err = f.d.Reader().ClassifierDue(ctx, minNew, 100)
				return err
			}), 1)
			return slices.Contains(ids, f.tenant)
		}
		if !due(1) || due(2) {
			t.Errorf("before a model: due(1) %v, due(2) %v; want true, false", due(1), due(2))
		}
		if err := f.inTx(t, ctx, func(tx engram.Tx) error {
			_, err := tx.ClassifierModelInsert(ctx, f.tenant, engram.ClassifierModel{CreatedAt: time.Now(), TrainingSize: 2,
				Classes: []byte(`{}`), Figures: []byte(`{}`), Data: []byte{0}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !due(1) || due(2) {
			t.Errorf("after a model of 2: due(1) %v, due(2) %v; want true, false", due(1), due(2))
		}
		// A re-classification reads only what the machine classified.
		var cands []engram.ClassifyCandidate
		wantStatements(t, "ClassifyRead machine", statements(t, func(ctx context.Context) (err error) {
			cands, err = f.d.Reader().ClassifyRead(ctx, f.tenant, engram.ClassifyQuery{Machine: true, Limit: 10})
			return err
		}), 1)
		if len(cands) != 1 || cands[0].ID != ids[4] || cands[0].Classification != work || cands[0].UserConfirmed {
			t.Errorf("machine-classified = %+v", cands)
		}
		if cands, _ := f.d.Reader().ClassifyRead(ctx, f.tenant, engram.ClassifyQuery{Machine: true, After: ids[4], Limit: 10}); len(cands) != 0 {
			t.Errorf("after the last: %+v", cands)
		}
	})
}
