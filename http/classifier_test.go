package http_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/engram-kb/engram/classify"
	enghttp "github.com/engram-kb/engram/http"
	"github.com/engram-kb/engram/internal/testdb"
)

// TestClassifierEndpoints: GET /api/classifier and POST
// /api/classifier/train, from no model through a refused training to a
// model that classifies, with bad input answered 4xx.
func TestClassifierEndpoints(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s, func(cfg *enghttp.Config) { cfg.Learner = classify.Learner{}; cfg.Classifier = classify.New() })
		key := e.member.Secret
		st := e.call(t, http.MethodGet, "/api/classifier", e.viewer.Secret, nil).want(t, http.StatusOK, "")
		if st.Body["model"] != nil || st.Body["decisions"] != 0.0 || st.Body["learning"] != true {
			t.Fatalf("status before any decision: %s", st.Raw)
		}
		e.call(t, http.MethodPost, "/api/classifier/train", key, `{"reclasify": false}`).want(t, http.StatusBadRequest, "invalid_argument", "reclasify")
		e.call(t, http.MethodPost, "/api/classifier/train", e.viewer.Secret, nil).want(t, http.StatusForbidden, "")
		e.call(t, http.MethodPost, "/api/classifier/train", key, nil).want(t, http.StatusConflict, "conflict", "too few decisions")

		for _, c := range []struct{ class, text string }{{"spam", "casino lottery pharmacy"}, {"personal", "grandma picnic hiking"}} {
			titles := make([]string, 25)
			for i := range titles {
				titles[i] = fmt.Sprintf("%s %d", c.text, i)
			}
			ids := e.create(t, key, titles...)
			e.call(t, http.MethodPost, "/api/documents/bulk/classify", key, map[string]any{"document_ids": ids, "classification": c.class}).want(t, http.StatusOK, "")
		}
		machine := e.create(t, key, "casino lottery again")
		tr := e.call(t, http.MethodPost, "/api/classifier/train", key, nil).want(t, http.StatusOK, "")
		m, _ := tr.Body["model"].(map[string]any)
		if m["version"] != 1.0 || m["training_size"] != 50.0 {
			t.Fatalf("trained %s", tr.Raw)
		}
		res := e.call(t, http.MethodPost, "/api/documents/"+machine[0]+"/classify", key, nil).want(t, http.StatusOK, "")
		if d := e.get(t, key, machine[0]); d.Classification != "spam" || d.ClassificationReason[:8] != "model 1," {
			t.Fatalf("classified by the model: %+v (%s)", d, res.Raw)
		}
		st = e.call(t, http.MethodGet, "/api/classifier", key, nil).want(t, http.StatusOK, "")
		if sm, _ := st.Body["model"].(map[string]any); sm["version"] != 1.0 || st.Body["decisions"] != 50.0 {
			t.Fatalf("status after training: %s", st.Raw)
		}
	})
}
