package service

import (
	"context"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// The gap use cases. Every method is scoped by tenant: another tenant's
// gap is not_found, exactly like a gap that does not exist.

func gapNotFound(id string) error { return engram.Errorf(engram.ENotFound, "gap %s not found", id) }

// CreateGap inserts the gap, its questions and its document links in one
// transaction: three statements (two without documents). A document id
// that is not a live document of the tenant fails the whole create.
func (s *Store) CreateGap(ctx context.Context, tenantID string, g engram.PreparedGap) (engram.GapDetail, error) {
	now := s.now()
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		if err := tx.GapInsert(ctx, tenantID, g, now); err != nil {
			return err
		}
		qs := make([]engram.NewGapQuestion, len(g.Questions))
		for i, q := range g.Questions {
			qs[i] = engram.NewGapQuestion{GapID: g.ID, Index: i, Text: q}
		}
		if err := tx.GapQuestionsInsert(ctx, tenantID, qs); err != nil {
			return err
		}
		if len(g.DocumentIDs) == 0 {
			return nil
		}
		linked, err := tx.GapDocumentsLink(ctx, tenantID, g.ID, g.DocumentIDs)
		if err != nil {
			return err
		}
		if nf := rows.NotFound(g.DocumentIDs, linked); len(nf) > 0 {
			return engram.Errorf(engram.EInvalid, "document_ids: %s is not a document of this tenant", nf[0])
		}
		return nil
	})
	if err != nil {
		return engram.GapDetail{}, err
	}
	return engram.NewGapDetail(g, now), nil
}

// ListGaps reads one keyset page with the counts of every gap on it in
// one statement.
func (s *Store) ListGaps(ctx context.Context, tenantID string, f engram.GapFilter) (engram.GapPage, error) {
	gaps, err := s.d.Reader().GapList(ctx, tenantID, f)
	if err != nil {
		return engram.GapPage{}, err
	}
	if gaps == nil {
		gaps = []engram.Gap{}
	}
	page := engram.GapPage{Gaps: gaps}
	page.Finish(f.Limit)
	return page, nil
}

// GetGap reads the gap with its questions and live documents (one
// statement) and its answers (a second). Returns not_found.
func (s *Store) GetGap(ctx context.Context, tenantID, id string) (engram.GapDetail, error) {
	return s.getGap(ctx, s.d.Reader(), tenantID, id)
}

func (s *Store) getGap(ctx context.Context, x engram.Executor, tenantID, id string) (engram.GapDetail, error) {
	d, ok, err := x.GapGet(ctx, tenantID, id)
	if err != nil {
		return engram.GapDetail{}, err
	}
	if !ok {
		return engram.GapDetail{}, gapNotFound(id)
	}
	if d.Answers, err = x.GapAnswers(ctx, tenantID, id); err != nil {
		return engram.GapDetail{}, err
	}
	if d.Answers == nil {
		d.Answers = []engram.GapAnswer{}
	}
	return d, nil
}

// UpdateGap applies the patch (one statement) and reads the gap back
// (two), in one transaction. Returns not_found.
func (s *Store) UpdateGap(ctx context.Context, tenantID, id string, p engram.GapPatch) (engram.GapDetail, error) {
	var d engram.GapDetail
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		ok, err := tx.GapUpdate(ctx, tenantID, id, p, s.now())
		if err != nil {
			return err
		}
		if !ok {
			return gapNotFound(id)
		}
		d, err = s.getGap(ctx, tx, tenantID, id)
		return err
	})
	return d, err
}

// DeleteGap deletes the gap with everything of it and writes the audit
// row: two statements. Returns not_found.
func (s *Store) DeleteGap(ctx context.Context, tenantID, actor, id string) error {
	return s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		ok, err := tx.GapDelete(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if !ok {
			return gapNotFound(id)
		}
		return s.audit(ctx, tx, tenantID, actor, "gaps.delete", "gap", 1, withIDs(nil, []string{id}))
	})
}

// SetGapStatus locks the gaps (PostgreSQL only), sets a person's status in
// one statement and writes the audit row, whatever the number of ids. Ids
// that are not the tenant's gaps come back in NotFound.
func (s *Store) SetGapStatus(ctx context.Context, tenantID, actor string, ids []string, st engram.GapStatus) (engram.BulkResult, error) {
	var res engram.BulkResult
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		if err := tx.GapsLock(ctx, tenantID, ids); err != nil {
			return err
		}
		found, err := tx.GapsSetStatus(ctx, tenantID, ids, st, s.now())
		if err != nil {
			return err
		}
		res = engram.BulkResult{Changed: len(found), NotFound: rows.NotFound(ids, found)}
		return s.audit(ctx, tx, tenantID, actor, "gaps.set_status", "gap", res.Changed,
			withIDs(map[string]any{"status": st}, ids))
	})
	return res, err
}

// GapStats reads the tenant's kept gap counts in one statement.
func (s *Store) GapStats(ctx context.Context, tenantID string) (engram.GapStats, error) {
	return s.d.Reader().GapStats(ctx, tenantID)
}
