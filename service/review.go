package service

import (
	"context"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// The review use cases: a person's decision over a set of documents is
// one transaction of a fixed number of statements whatever the number of
// ids: lock (PostgreSQL only), write, audit. Ids that are not live
// documents of the tenant come back in NotFound.

// review applies ch to the documents among ids and audits it.
func (s *Store) review(ctx context.Context, tenantID, actor string, ids []string, ch engram.ReviewChange, extra map[string]any) (engram.BulkResult, error) {
	var res engram.BulkResult
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		docs, err := tx.DocumentsLock(ctx, tenantID, ids)
		if err != nil {
			return err
		}
		found, err := tx.DocumentsReview(ctx, tenantID, docs, ch, s.now())
		if err != nil {
			return err
		}
		res = engram.BulkResult{Changed: len(found), NotFound: rows.NotFound(ids, found)}
		return s.audit(ctx, tx, tenantID, actor, "documents."+string(ch.Action), "document", res.Changed, withIDs(extra, ids))
	})
	return res, err
}

// SetClassification records a person's class for the documents.
func (s *Store) SetClassification(ctx context.Context, tenantID, actor string, ids []string, c engram.Classification) (engram.BulkResult, error) {
	return s.review(ctx, tenantID, actor, ids, engram.ReviewChange{Action: engram.ReviewSetClassification, Classification: &c},
		map[string]any{"classification": c})
}

// ConfirmDocuments marks the documents confirmed by a person, optionally
// setting their class.
func (s *Store) ConfirmDocuments(ctx context.Context, tenantID, actor string, ids []string, c *engram.Classification) (engram.BulkResult, error) {
	var extra map[string]any
	if c != nil {
		extra = map[string]any{"classification": *c}
	}
	return s.review(ctx, tenantID, actor, ids, engram.ReviewChange{Action: engram.ReviewConfirm, Classification: c}, extra)
}

// RejectDocuments marks the documents rejected by a person.
func (s *Store) RejectDocuments(ctx context.Context, tenantID, actor string, ids []string, reason string) (engram.BulkResult, error) {
	return s.review(ctx, tenantID, actor, ids, engram.ReviewChange{Action: engram.ReviewReject, Reason: reason},
		map[string]any{"reason": reason})
}

// RestoreDocuments undoes soft deletes.
func (s *Store) RestoreDocuments(ctx context.Context, tenantID, actor string, ids []string) (engram.BulkResult, error) {
	return s.review(ctx, tenantID, actor, ids, engram.ReviewChange{Action: engram.ReviewRestore}, nil)
}

// DeleteDocuments soft-deletes the documents, or hard-deletes them: lock
// their connectors (so a sync batch cannot write one back meanwhile), lock
// the documents, delete them with their chunks writing tombstones, and
// audit.
func (s *Store) DeleteDocuments(ctx context.Context, tenantID, actor string, ids []string, hard bool) (engram.BulkResult, error) {
	if !hard {
		return s.review(ctx, tenantID, actor, ids, engram.ReviewChange{Action: engram.ReviewSoftDelete}, nil)
	}
	var res engram.BulkResult
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		if err := tx.ConnectorsLockForDocuments(ctx, tenantID, ids); err != nil {
			return err
		}
		docs, err := tx.DocumentsLock(ctx, tenantID, ids)
		if err != nil {
			return err
		}
		found, tombstoned, err := tx.DocumentsHardDelete(ctx, tenantID, docs, actor, s.now())
		if err != nil {
			return err
		}
		res = engram.BulkResult{Changed: len(found), Tombstoned: tombstoned, NotFound: rows.NotFound(ids, found)}
		return s.audit(ctx, tx, tenantID, actor, "documents.hard_delete", "document", res.Changed,
			withIDs(map[string]any{"tombstoned": tombstoned}, ids))
	})
	return res, err
}

// DocumentStats reads the tenant's kept counts in one statement.
func (s *Store) DocumentStats(ctx context.Context, tenantID string) (engram.DocumentStats, error) {
	return s.d.Reader().DocumentStats(ctx, tenantID)
}
