package service

import (
	"context"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// ClassifyDocuments reads the selection (one statement, no transaction),
// runs the classifier with no transaction open, then stores the verdicts
// and the audit row in one transaction of two statements. The write is
// guarded: a document a person confirmed or rejected meanwhile, deleted
// or whose content changed keeps what it has, and comes back in Skipped.
func (s *Store) ClassifyDocuments(ctx context.Context, tenantID, actor string, sel engram.ClassifySelection, classify engram.ClassifyFunc) (engram.ClassifyOutcome, error) {
	cands, err := s.d.Reader().ClassifyRead(ctx, tenantID, engram.ClassifyQuery{IDs: sel.IDs, Limit: sel.Limit})
	if err != nil {
		return engram.ClassifyOutcome{}, err
	}
	notFound := []string{}
	if len(sel.IDs) > 0 {
		found := make(map[string]bool, len(cands))
		for _, c := range cands {
			found[c.ID] = true
		}
		notFound = rows.NotFound(sel.IDs, found)
	}
	planned, skipped, err := s.runClassifier(ctx, classify, cands, sel.AutoConfirmThreshold)
	if err != nil {
		return engram.ClassifyOutcome{}, err
	}
	var out engram.ClassifyOutcome
	err = s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		updated, err := s.writeVerdicts(ctx, tx, tenantID, planned)
		if err != nil {
			return err
		}
		out = engram.Summarize(rowsOf(planned), updated, notFound, append(skipped, lost(planned, updated)...))
		return s.audit(ctx, tx, tenantID, actor, "documents.classify", "document", out.Total,
			map[string]any{"ids": rows.SortedKeys(updated), "auto_confirmed": out.AutoConfirmed})
	})
	return out, err
}

// runClassifier classifies the candidates a person has not decided and
// returns the verdicts with the content they were computed from, and the
// ids it skipped.
func (s *Store) runClassifier(ctx context.Context, classify engram.ClassifyFunc, cands []engram.ClassifyCandidate, threshold *float64) ([]engram.ClassifyVerdict, []string, error) {
	var skipped []string
	inputs := make([]engram.ClassifyInput, 0, len(cands))
	hashes := make([]string, 0, len(cands))
	for _, c := range cands {
		if c.UserConfirmed {
			skipped = append(skipped, c.ID)
			continue
		}
		inputs = append(inputs, c.ClassifyInput)
		hashes = append(hashes, c.ContentHash)
	}
	planned, err := engram.RunClassifier(ctx, classify, inputs, threshold)
	if err != nil {
		return nil, nil, err
	}
	out := make([]engram.ClassifyVerdict, len(planned))
	for i, r := range planned {
		out[i] = engram.ClassifyVerdict{ClassifyRow: r, ContentHash: hashes[i]}
	}
	return out, skipped, nil
}

// writeVerdicts stores verdicts (one statement; none when there are none).
func (s *Store) writeVerdicts(ctx context.Context, x engram.Executor, tenantID string, v []engram.ClassifyVerdict) (map[string]bool, error) {
	if len(v) == 0 {
		return map[string]bool{}, nil
	}
	return x.ClassifyWrite(ctx, tenantID, v, s.now())
}

// rowsOf returns the classifier rows of verdicts.
func rowsOf(v []engram.ClassifyVerdict) []engram.ClassifyRow {
	out := make([]engram.ClassifyRow, len(v))
	for i := range v {
		out[i] = v[i].ClassifyRow
	}
	return out
}

// lost lists the verdicts the guarded write did not store: a person
// decided, or the document changed or went, while the classifier worked.
func lost(v []engram.ClassifyVerdict, updated map[string]bool) []string {
	var out []string
	for _, r := range v {
		if !updated[r.ID] {
			out = append(out, r.ID)
		}
	}
	return out
}
