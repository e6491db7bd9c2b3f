package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/jobs"
)

// TestRiverTrainsClassifier: once a tenant has enough decisions, the
// learning pass trains its model and re-classifies what the machine had
// classified, on each engine.
func TestRiverTrainsClassifier(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		ctx := context.Background()
		tn, key, err := s.CreateTenant(ctx, "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		add := func(n int, text string) []string {
			docs := make([]engram.NewDocument, n)
			for i := range docs {
				docs[i] = engram.NewDocument{Title: fmt.Sprintf("%s %d", text, i), Content: text}
			}
			p, err := engram.PrepareDocuments(docs)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.CreateDocuments(ctx, tn.ID, p); err != nil {
				t.Fatal(err)
			}
			ids := make([]string, n)
			for i := range p {
				ids[i] = p[i].ID
			}
			return ids
		}
		for _, c := range []engram.Classification{engram.ClassSpam, engram.ClassPersonal} {
			ids := add(25, map[engram.Classification]string{engram.ClassSpam: "casino lottery pharmacy", engram.ClassPersonal: "grandma picnic hiking"}[c])
			if _, err := s.SetClassification(ctx, tn.ID, key.ID, ids, c); err != nil {
				t.Fatal(err)
			}
		}
		// The machine called this one work; the model will say spam.
		machine := add(1, "casino lottery pharmacy again")
		work := func(_ context.Context, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
			return []engram.ClassifyResult{{Classification: engram.ClassWork, Confidence: 0.7}}, nil
		}
		if _, err := s.ClassifyDocuments(ctx, tn.ID, key.ID, engram.ClassifySelection{IDs: machine}, work); err != nil {
			t.Fatal(err)
		}
		r, err := jobs.New(s, testdb.Backend(s), jobs.Config{Workers: 2, Classifier: classify.New(), Learner: classify.Learner{},
			TrainEvery: 200 * time.Millisecond, RescueAfter: 3 * time.Second, PollInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := r.Stop(sctx); err != nil {
				t.Errorf("stop: %v", err)
			}
		}()
		deadline := time.Now().Add(30 * time.Second)
		for {
			st, err := s.ClassifierStatus(ctx, tn.ID)
			if err != nil {
				t.Fatal(err)
			}
			d, err := s.GetDocument(ctx, tn.ID, machine[0], false)
			if err != nil {
				t.Fatal(err)
			}
			if st.Model != nil && d.Classification == engram.ClassSpam {
				if st.Model.Version != 1 || st.Model.TrainingSize != 50 || d.UserConfirmed {
					t.Errorf("model %+v, document %+v", st.Model, d)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no model after 30s: status %+v, document class %s", st, d.Classification)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
