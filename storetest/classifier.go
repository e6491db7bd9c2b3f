package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify"
)

// testClassifier covers the learned classifier's use cases: training from
// people's decisions into versioned models, the classifier a tenant's
// model makes, and re-classification after a new model, which never
// touches a person's decision, not even one made while it classified.
func testClassifier(t *testing.T, h Harness) {
	t.Run("TrainAndVersions", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		l := classify.Learner{}
		spam := decided(t, f, engram.ClassSpam, "casino lottery pharmacy", 30)
		// Too few decisions of a second class: conflict, nothing stored.
		decided(t, f, engram.ClassPersonal, "grandma picnic birthday", classify.MinClassExamples-5)
		_, err := f.s.TrainClassifier(ctx, f.tenant.ID, f.key.ID, nil, l)
		wantCode(t, err, engram.EConflict)
		if st, err := f.s.ClassifierStatus(ctx, f.tenant.ID); err != nil || st.Model != nil || st.Decisions != 30+classify.MinClassExamples-5 {
			t.Fatalf("status after a refused training = %+v, %v", st, err)
		}
		decided(t, f, engram.ClassPersonal, "grandma picnic birthday", 10)
		for want := 1; want <= 2; want++ {
			cctx, st := counted()
			m, err := f.s.TrainClassifier(cctx, f.tenant.ID, f.key.ID, nil, l)
			if err != nil {
				t.Fatal(err)
			}
			// One page of decisions, then the model and its audit row.
			if n := st.Count(); n != 3 {
				t.Errorf("training sent %d statements, want 3", n)
			}
			if m.Version != want || m.TrainingSize != 30+classify.MinClassExamples+5 || m.Data != nil {
				t.Errorf("model = %+v", m)
			}
			var classes map[string]int
			if err := json.Unmarshal(m.Classes, &classes); err != nil || len(classes) != 2 || classes["spam"]+classes["personal"] != m.TrainingSize {
				t.Errorf("classes %s (%v)", m.Classes, err)
			}
		}
		if rows, last := f.in.AuditRows(t, f.tenant.ID, "classifier.train"); rows != 2 || last != 30+classify.MinClassExamples+5 {
			t.Errorf("audit rows %d, last count %d", rows, last)
		}
		st, err := f.s.ClassifierStatus(ctx, f.tenant.ID)
		if err != nil || st.Model == nil || st.Model.Version != 2 || len(st.Model.Figures) == 0 {
			t.Fatalf("status = %+v, %v", st, err)
		}
		// The tenant's classifier is the model: two statements to load it,
		// one when it is cached.
		cctx, qs := counted()
		c, err := f.s.TenantClassifier(cctx, f.tenant.ID, l, classify.New())
		if err != nil || qs.Count() != 2 {
			t.Fatalf("TenantClassifier: %v, %d statements", err, qs.Count())
		}
		cctx, qs = counted()
		if _, err := f.s.TenantClassifier(cctx, f.tenant.ID, l, classify.New()); err != nil || qs.Count() != 1 {
			t.Fatalf("cached TenantClassifier: %v, %d statements", err, qs.Count())
		}
		res, err := c.Classify(ctx, nil, []engram.ClassifyInput{{ID: "x", Title: "lottery", Content: "casino pharmacy"}})
		if err != nil || res[0].Classification != engram.ClassSpam {
			t.Errorf("model verdict %+v, %v", res, err)
		}
		// Another tenant has no model: the base classifier.
		other, _, err := f.s.CreateTenant(ctx, "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		base := classify.New()
		if c, err := f.s.TenantClassifier(ctx, other.ID, l, base); err != nil || c != engram.Classifier(base) {
			t.Errorf("other tenant's classifier %T, %v", c, err)
		}
		_ = spam
	})

	t.Run("ReclassifyKeepsPersonsDecision", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		ids := createDocs(t, f.s, f.tenant.ID, 4, "machine", "text")
		if _, err := f.s.ClassifyDocuments(ctx, f.tenant.ID, f.key.ID, engram.ClassifySelection{IDs: ids}, verdicts(engram.ClassWork)); err != nil {
			t.Fatal(err)
		}
		person := decided(t, f, engram.ClassPersonal, "decided", 1)[0]
		target := ids[2]
		var finish func()
		slow := classifierFunc(func(ctx context.Context, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
			for _, d := range docs {
				if d.ID == person {
					return nil, fmt.Errorf("re-classification read %s, a person's decision", person)
				}
			}
			finish = meanwhile(t, "the person's decision", func() error {
				_, err := f.s.SetClassification(context.Background(), f.tenant.ID, f.key.ID, []string{target}, engram.ClassPersonal)
				return err
			})
			return verdicts(engram.ClassSpam)(ctx, docs)
		})
		out, err := f.s.Reclassify(ctx, f.tenant.ID, nil, slow)
		if finish != nil {
			finish()
		}
		if err != nil {
			t.Fatal(err)
		}
		if out.Read != 4 || out.Changed != 4 || out.Written != 3 || out.Skipped != 1 {
			t.Errorf("outcome %+v", out)
		}
		for _, id := range ids {
			d, err := f.s.GetDocument(ctx, f.tenant.ID, id, false)
			if err != nil {
				t.Fatal(err)
			}
			want := engram.ClassSpam
			if id == target {
				want = engram.ClassPersonal
			}
			if d.Classification != want || (id == target) != d.UserConfirmed {
				t.Errorf("%s: %s, confirmed %v; want %s", id, d.Classification, d.UserConfirmed, want)
			}
		}
		// Nothing changes: nothing is written.
		cctx, qs := counted()
		out, err = f.s.Reclassify(cctx, f.tenant.ID, nil, classifierFunc(verdicts(engram.ClassSpam)))
		if err != nil || out.Read != 3 || out.Changed != 0 || qs.Count() != 1 {
			t.Errorf("second pass %+v, %v, %d statements", out, err, qs.Count())
		}
	})
}

// decided creates n documents a person classified as c and returns them.
func decided(t *testing.T, f fixture, c engram.Classification, text string, n int) []string {
	t.Helper()
	docs := make([]engram.NewDocument, n)
	for i := range docs {
		docs[i] = engram.NewDocument{Title: fmt.Sprintf("%s %d", text, i), Content: text + " and more words"}
	}
	p := mustPrepare(t, docs)
	if err := f.s.CreateDocuments(context.Background(), f.tenant.ID, p); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range p {
		ids[i] = p[i].ID
	}
	if _, err := f.s.SetClassification(context.Background(), f.tenant.ID, f.key.ID, ids, c); err != nil {
		t.Fatal(err)
	}
	return ids
}
