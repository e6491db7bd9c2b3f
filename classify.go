package engram

import (
	"context"
	"fmt"
	"math"
)

// ClassifyRow is the stored form of one classifier verdict, as both
// engines write it in a single UPDATE from one JSON parameter.
type ClassifyRow struct {
	ID             string         `json:"id"`
	Classification Classification `json:"classification"`
	Confidence     float64        `json:"confidence"`
	Reason         string         `json:"reason"`
	Status         DocumentStatus `json:"status"`
	IsBorderline   bool           `json:"-"`
}

// RunClassifier runs classify over docs and turns its verdicts into rows to
// store: the confidence is clamped to [0,1], a result is borderline when
// its confidence is below BorderlineConfidence or the classifier says so,
// and a result at or above threshold that is not borderline is confirmed
// automatically (user_confirmed stays false: only a person confirms).
func RunClassifier(ctx context.Context, classify ClassifyFunc, docs []ClassifyInput, threshold *float64) ([]ClassifyRow, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	results, err := classify(ctx, docs)
	if err != nil {
		return nil, err
	}
	if len(results) != len(docs) {
		return nil, fmt.Errorf("classifier returned %d results for %d documents", len(results), len(docs))
	}
	out := make([]ClassifyRow, len(docs))
	for i, r := range results {
		if !r.Classification.Valid() {
			return nil, fmt.Errorf("classifier returned unknown class %q", r.Classification)
		}
		c := r.Confidence
		if math.IsNaN(c) {
			c = 0
		}
		c = math.Max(0, math.Min(1, c))
		border := r.IsBorderline || c < BorderlineConfidence
		st := StatusClassified
		if threshold != nil && c >= *threshold && !border {
			st = StatusConfirmed
		}
		reason := r.Reason
		if len(reason) > 500 {
			reason = reason[:500]
		}
		out[i] = ClassifyRow{ID: docs[i].ID, Classification: r.Classification, Confidence: c, Reason: reason, Status: st, IsBorderline: border}
	}
	return out, nil
}

// Summarize counts the rows that were actually stored (updated) into an
// outcome, and reports the rest of want as not found.
func Summarize(rows []ClassifyRow, updated map[string]bool, notFound, skipped []string) ClassifyOutcome {
	o := ClassifyOutcome{ByClass: map[Classification]int{}, NotFound: notFound, Skipped: skipped, Results: map[string]ClassifyResult{}}
	for _, c := range Classifications {
		o.ByClass[c] = 0
	}
	for _, r := range rows {
		if !updated[r.ID] {
			continue
		}
		o.Total++
		o.ByClass[r.Classification]++
		if r.Status == StatusConfirmed {
			o.AutoConfirmed++
		} else {
			o.NeedsReview++
		}
		o.Results[r.ID] = ClassifyResult{Classification: r.Classification, Confidence: r.Confidence, Reason: r.Reason, IsBorderline: r.IsBorderline}
	}
	if o.NotFound == nil {
		o.NotFound = []string{}
	}
	if o.Skipped == nil {
		o.Skipped = []string{}
	}
	return o
}
