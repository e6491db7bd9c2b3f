package service

import (
	"context"

	"github.com/engram-kb/engram"
)

// The store side of gap analysis (engram.RunGapAnalysis drives it): the
// documents an analysis reads, and the batch upsert of its proposals.

// CountAnalysisDocuments counts the documents an analysis reads: one
// statement.
func (s *Store) CountAnalysisDocuments(ctx context.Context, tenantID string) (int, error) {
	return s.d.Reader().AnalysisDocumentsCount(ctx, tenantID)
}

// ListAnalysisDocuments reads one batch by keyset on the primary key: one
// statement.
func (s *Store) ListAnalysisDocuments(ctx context.Context, tenantID, afterID string, limit int) ([]engram.AnalysisDocument, error) {
	return s.d.Reader().AnalysisDocumentsList(ctx, tenantID, afterID, limit)
}

// UpsertGapProposals writes a batch of proposals in one transaction of at
// most four statements whatever their number: the gaps (new ones
// inserted, the ids of existing ones found by fingerprint), the questions
// of the new ones (none when there are none), the document links of all,
// and the audit row. An existing gap is left as people made it; only its
// links grow.
func (s *Store) UpsertGapProposals(ctx context.Context, tenantID, actor string, ps []engram.PreparedProposal) (engram.ProposalOutcome, error) {
	var out engram.ProposalOutcome
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		ids, err := tx.GapsUpsertProposals(ctx, tenantID, ps, s.now())
		if err != nil {
			return err
		}
		var questions []engram.NewGapQuestion
		var links []engram.GapLink
		out, questions, links = proposalChildren(ps, ids)
		if len(questions) > 0 {
			if err := tx.GapQuestionsInsert(ctx, tenantID, questions); err != nil {
				return err
			}
		}
		if err := tx.GapLinksInsert(ctx, tenantID, links); err != nil {
			return err
		}
		return s.audit(ctx, tx, tenantID, actor, "gaps.analyze", "gap", len(out.Created)+len(out.Updated),
			map[string]any{"created": out.Created, "updated": out.Updated})
	})
	return out, err
}

// proposalChildren sorts the stored proposals (gapIDs maps a fingerprint
// to the id of the gap that holds it) into created ones, whose id is the
// proposal's own, and found-again ones, and returns the questions of the
// created ones and the document links of all of them.
func proposalChildren(ps []engram.PreparedProposal, gapIDs map[string]string) (engram.ProposalOutcome, []engram.NewGapQuestion, []engram.GapLink) {
	out := engram.ProposalOutcome{Created: []string{}, Updated: []string{}}
	var qs []engram.NewGapQuestion
	links := []engram.GapLink{}
	for _, p := range ps {
		id, ok := gapIDs[p.Fingerprint]
		if !ok {
			continue
		}
		if id == p.ID {
			out.Created = append(out.Created, id)
			for i, q := range p.Questions {
				qs = append(qs, engram.NewGapQuestion{GapID: id, Index: i, Text: q})
			}
		} else {
			out.Updated = append(out.Updated, id)
		}
		for _, d := range p.DocumentIDs {
			links = append(links, engram.GapLink{GapID: id, DocumentID: d})
		}
	}
	return out, qs, links
}
