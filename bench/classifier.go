package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/engram-kb/engram"
)

// classifierVocab gives each class words of its own, mixed with common
// ones, so the model has something to learn and every document differs.
var classifierVocab = map[engram.Classification][]string{
	engram.ClassWork:     {"roadmap", "release", "invoice", "customer", "deploy", "sprint", "budget", "contract", "incident", "review"},
	engram.ClassPersonal: {"birthday", "dinner", "vacation", "weekend", "family", "picnic", "wedding", "movie", "hiking", "recipe"},
	engram.ClassSpam:     {"lottery", "casino", "pharmacy", "prize", "winner", "credit", "offer", "cheap", "bonus", "viagra"},
}

var commonWords = strings.Fields("the and of to in for on with at by from this that is are was be have it we you they our your will can about more")

// classifierDocs makes n documents, a third of each class, and returns
// them with their classes.
func classifierDocs(n int, rng *rand.Rand) ([]engram.NewDocument, []engram.Classification) {
	docs := make([]engram.NewDocument, n)
	classes := make([]engram.Classification, n)
	for i := range docs {
		c := []engram.Classification{engram.ClassWork, engram.ClassPersonal, engram.ClassSpam}[i%3]
		vocab := classifierVocab[c]
		var b strings.Builder
		for w := 0; w < 120; w++ {
			if w%4 == 0 {
				b.WriteString(vocab[rng.IntN(len(vocab))])
			} else {
				b.WriteString(commonWords[rng.IntN(len(commonWords))])
			}
			b.WriteByte(' ')
		}
		docs[i] = engram.NewDocument{Title: fmt.Sprintf("%s %s %d", vocab[rng.IntN(len(vocab))], vocab[rng.IntN(len(vocab))], i),
			Content: b.String(), SourceType: "bench"}
		classes[i] = c
	}
	return docs, classes
}

// classifier measures, in a tenant of its own, training a model on
// cfg.Classifier decided documents (POST /api/classifier/train without
// re-classification) and classifying cfg.Classifier pending documents with
// it (POST /api/documents/classify, 1,000 ids a request).
func (r *runner) classifier(ctx context.Context) ([]Result, error) {
	n := r.cfg.Classifier
	if n == 0 {
		return nil, nil
	}
	tn, key, err := r.cfg.Store.CreateTenant(ctx, "Bench classifier", "bench-classifier-"+engram.NewID()[24:])
	if err != nil {
		return nil, err
	}
	c := r.as(key.Secret)
	rng := rand.New(rand.NewPCG(1, 2))
	create := func(docs []engram.NewDocument) ([]string, error) {
		var ids []string
		for from := 0; from < len(docs); from += engram.MaxDocumentsPerCreate {
			p, err := engram.PrepareDocuments(docs[from:min(len(docs), from+engram.MaxDocumentsPerCreate)])
			if err != nil {
				return nil, err
			}
			if err := r.cfg.Store.CreateDocuments(ctx, tn.ID, p); err != nil {
				return nil, err
			}
			for _, d := range p {
				ids = append(ids, d.ID)
			}
		}
		return ids, nil
	}
	r.cfg.Logf("seeding %d decided documents for the classifier", n)
	docs, classes := classifierDocs(n, rng)
	ids, err := create(docs)
	if err != nil {
		return nil, err
	}
	byClass := map[engram.Classification][]string{}
	for i, id := range ids {
		byClass[classes[i]] = append(byClass[classes[i]], id)
	}
	for cl, ids := range byClass {
		for from := 0; from < len(ids); from += engram.MaxBulkIDs {
			if _, err := r.cfg.Store.SetClassification(ctx, tn.ID, key.ID, ids[from:min(len(ids), from+engram.MaxBulkIDs)], cl); err != nil {
				return nil, err
			}
		}
	}
	train := Result{Op: "train classifier", N: n}
	if train.Engram, err = r.repeat(func() error {
		return c.post("/api/classifier/train", map[string]any{"reclassify": false})
	}); err != nil {
		return nil, fmt.Errorf("train classifier: %w", err)
	}
	r.cfg.Logf("train classifier n=%d: engram %.2f ms", n, train.Engram.Median)

	classify := Result{Op: "classify with the model", N: n}
	var times []float64
	for range r.cfg.Runs {
		pending, _ := classifierDocs(n, rng)
		ids, err := create(pending) // seeding, not timed
		if err != nil {
			return nil, err
		}
		start := time.Now()
		for from := 0; from < len(ids); from += engram.MaxClassifyLimit {
			if err := c.post("/api/documents/classify", map[string]any{"document_ids": ids[from:min(len(ids), from+engram.MaxClassifyLimit)]}); err != nil {
				return nil, fmt.Errorf("classify with the model: %w", err)
			}
		}
		times = append(times, float64(time.Since(start).Microseconds())/1000)
	}
	classify.Engram = summarize(times)
	r.cfg.Logf("classify with the model n=%d: engram %.2f ms", n, classify.Engram.Median)
	return []Result{train, classify}, nil
}
