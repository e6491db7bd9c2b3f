package service

import (
	"context"
	"time"

	"github.com/engram-kb/engram"
)

// The sync pipeline. A batch reads what its connector already holds under
// the batch's external ids, plans every item here (new, changed,
// unchanged, soft-deleted, tombstoned), and writes the plan with one
// statement per kind of write, so its cost does not grow with its size.
// What a person deleted stays deleted: a soft-deleted document is left
// alone and a tombstone wins over everything.

// SyncBatch runs one batch in one transaction: it locks the connector and
// reads its status (one statement), reads what the connector holds under
// the items' external ids (one), notes them as seen in a full sync (one),
// inserts the new documents (one), rewrites the changed ones (their lock
// on PostgreSQL, the delete of their old chunks and the rewrite: three, or
// two on SQLite), inserts the chunks of both (one), adds to the
// connector's total (one) and, with opt.Job, records the job's progress
// (one). A statement with nothing to write is not sent: a full sync's
// batch of new and changed items is eight statements on SQLite and nine on
// PostgreSQL (one more with a job), whatever its size.
//
// The connector's lock orders the batch against a hard delete of its
// documents, which share-locks their connectors first (on SQLite the one
// writer does): a delete that committed before the batch's read is seen
// as a tombstone, and one that starts during the batch waits and then
// deletes what the batch wrote. Returns invalid_argument (an item without
// this connector's external id), not_found, or conflict when the
// connector is disconnected.
func (s *Store) SyncBatch(ctx context.Context, tenantID, connectorID string, items []engram.PreparedDocument, opt engram.SyncOptions) (engram.SyncCounts, error) {
	for _, it := range items {
		if it.ExternalID == nil || it.ConnectorID == nil || *it.ConnectorID != connectorID {
			return engram.SyncCounts{}, engram.Errorf(engram.EInvalid, "a sync batch takes items of integration %s with external ids", connectorID)
		}
	}
	var counts engram.SyncCounts
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		status, ok, err := tx.ConnectorLockForBatch(ctx, tenantID, connectorID)
		if err != nil {
			return err
		}
		if !ok {
			return connectorNotFound(connectorID)
		}
		if status == engram.ConnectorDisconnected {
			return engram.Errorf(engram.EConflict, "integration %s is disconnected; reconnect it before syncing", connectorID)
		}
		keys := externalIDs(items)
		existing, err := tx.SyncExistingRead(ctx, tenantID, connectorID, keys)
		if err != nil {
			return err
		}
		if opt.RunID != "" {
			if err := tx.SyncSeenInsert(ctx, tenantID, connectorID, opt.RunID, keys); err != nil {
				return err
			}
		}
		p := planSync(items, existing)
		counts, err = s.writePlan(ctx, tx, tenantID, p)
		if err != nil {
			return err
		}
		now := s.now()
		if err := tx.ConnectorAddSynced(ctx, tenantID, connectorID, counts.Created+counts.Updated, now); err != nil {
			return err
		}
		if opt.Job == nil || opt.Job.Record == nil {
			return nil
		}
		// A job row that is gone has no progress to show; the batch
		// stands on its own.
		pr, result := opt.Job.Record(counts)
		_, _, err = tx.JobRecordProgress(ctx, tenantID, opt.Job.JobID, pr, result, opt.Job.Cursor, now)
		return err
	})
	return counts, err
}

// writePlan inserts the plan's new documents, rewrites its changed ones
// and inserts the chunks of both, and returns the plan's counts with what
// it wrote.
func (s *Store) writePlan(ctx context.Context, tx engram.Tx, tenantID string, p syncPlan) (engram.SyncCounts, error) {
	counts := p.counts
	now := s.now()
	if len(p.created) > 0 {
		if err := tx.DocumentsInsert(ctx, tenantID, p.created, now); err != nil {
			return counts, err
		}
		counts.Created = len(p.created)
	}
	if len(p.changed) > 0 {
		ids := make([]string, len(p.changed))
		for i, d := range p.changed {
			ids[i] = d.ID
		}
		// Locked in id order first, as every bulk write locks them, so a
		// person's bulk confirm of the same documents queues behind this
		// batch (or it behind them) instead of deadlocking with it.
		if _, err := tx.DocumentsLock(ctx, tenantID, ids); err != nil {
			return counts, err
		}
		if err := tx.ChunksDelete(ctx, tenantID, ids); err != nil {
			return counts, err
		}
		n, err := tx.DocumentsSyncUpdate(ctx, tenantID, p.changed, now)
		if err != nil {
			return counts, err
		}
		counts.Updated = n
	}
	written := append(append([]engram.PreparedDocument{}, p.created...), p.changed...)
	for _, d := range written {
		if len(d.Chunks) > 0 {
			return counts, tx.ChunksInsert(ctx, tenantID, written)
		}
	}
	return counts, nil
}

// FinishFullSync ends a full sync in one transaction: it archives the
// connector's live documents the run did not see (one statement, only
// when archive is set) and drops the run's notes (one). Returns the
// number archived.
func (s *Store) FinishFullSync(ctx context.Context, tenantID, connectorID, runID string, archive bool) (int, error) {
	var n int
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		if archive {
			var err error
			if n, err = tx.DocumentsArchiveUnseen(ctx, tenantID, connectorID, runID, s.now()); err != nil {
				return err
			}
		}
		return tx.SyncSeenDrop(ctx, tenantID, connectorID, runID)
	})
	return n, err
}

// syncPlan is a batch sorted by planSync: the documents to insert, those
// to rewrite (their ID is the existing document's), and the counts of
// what is left alone.
type syncPlan struct {
	created []engram.PreparedDocument
	changed []engram.PreparedDocument
	counts  engram.SyncCounts
}

// planSync sorts items by what the connector holds under their external
// ids. A tombstone wins over everything: what a person deleted stays
// deleted, and so does a soft-deleted document. An item that repeats an
// external id earlier in the batch is left out, as PrepareSyncItems
// leaves it out, and counted unchanged: the batch already stores its id.
func planSync(items []engram.PreparedDocument, existing []engram.SyncExisting) syncPlan {
	held := make(map[string]engram.SyncExisting, len(existing))
	for _, e := range existing {
		held[e.ExternalID] = e
	}
	var p syncPlan
	planned := make(map[string]bool, len(items))
	for _, it := range items {
		ext := *it.ExternalID
		e := held[ext]
		switch {
		case planned[ext]:
			p.counts.Unchanged++
		case e.Tombstoned:
			p.counts.SkippedTombstoned++
		case e.DocumentID == "":
			p.created = append(p.created, it)
		case e.IsDeleted:
			p.counts.SkippedDeleted++
		case e.ContentHash != it.ContentHash || e.Title != it.Title || e.SourceType != it.SourceType ||
			!sameTime(e.SourceUpdatedAt, it.SourceUpdatedAt):
			// A new source type is a change too: documents a connector
			// stored before it named its type right take the right one.
			it.ID = e.DocumentID
			p.changed = append(p.changed, it)
		default:
			p.counts.Unchanged++
		}
		planned[ext] = true
	}
	return p
}

// externalIDs returns the items' external ids, each once, in order.
func externalIDs(items []engram.PreparedDocument) []string {
	out := make([]string, 0, len(items))
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if !seen[*it.ExternalID] {
			seen[*it.ExternalID] = true
			out = append(out, *it.ExternalID)
		}
	}
	return out
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}
