package postgres

import (
	"context"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// The statements of a sync batch and of a full sync's end.

// ConnectorLockForBatch reads the connector's status FOR NO KEY UPDATE. A
// hard delete of documents takes FOR SHARE on the connectors of its
// documents before touching them (ConnectorsLockForDocuments), so the two
// exclude each other: a delete that committed before the batch's read is
// seen as a tombstone, and one that starts during the batch waits and
// then deletes what the batch wrote. A deleted item can therefore never
// be written back by a sync that was already running.
func (e *executor) ConnectorLockForBatch(ctx context.Context, tenantID, connectorID string) (engram.ConnectorStatus, bool, error) {
	var status string
	found := false
	err := e.run(ctx, tenantID, func(q querier) error {
		err := queryRow(ctx, q, "connectors.sync_lock",
			`SELECT status FROM connectors WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE`,
			[]any{tenantID, connectorID}, &status)
		if isNoRows(err) {
			return nil
		}
		found = err == nil
		return err
	})
	return engram.ConnectorStatus(status), found, err
}

// SyncExistingRead looks each external id up in the unique keys of
// documents and tombstones (tenant, connector, external id): the ids drive
// the join, never a load of all the connector's ids.
func (e *executor) SyncExistingRead(ctx context.Context, tenantID, connectorID string, externalIDs []string) ([]engram.SyncExisting, error) {
	var out []engram.SyncExisting
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "sync.sort",
			`SELECT i.external_id, coalesce(d.id::text, ''), coalesce(d.content_hash, ''), coalesce(d.title, ''),
			        coalesce(d.source_type, ''), d.source_updated_at, coalesce(d.is_deleted, false), t.id IS NOT NULL
			   FROM unnest($3::text[]) AS i(external_id)
			   LEFT JOIN documents d ON d.tenant_id = $1 AND d.connector_id = $2 AND d.external_id = i.external_id
			   LEFT JOIN deleted_documents t ON t.tenant_id = $1 AND t.connector_id = $2 AND t.external_id = i.external_id
			  WHERE d.id IS NOT NULL OR t.id IS NOT NULL`,
			tenantID, connectorID, externalIDs)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var x engram.SyncExisting
			if err := rs.Scan(&x.ExternalID, &x.DocumentID, &x.ContentHash, &x.Title, &x.SourceType, &x.SourceUpdatedAt, &x.IsDeleted, &x.Tombstoned); err != nil {
				return err
			}
			inUTC(x.SourceUpdatedAt)
			out = append(out, x)
		}
		return translate(rs.Err())
	})
	return out, err
}

// SyncSeenInsert notes the external ids under the run.
func (e *executor) SyncSeenInsert(ctx context.Context, tenantID, connectorID, runID string, externalIDs []string) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "sync.seen",
			`INSERT INTO sync_seen (tenant_id, connector_id, run_id, external_id)
			 SELECT $1, $2, $3, k.external_id FROM unnest($4::text[]) AS k(external_id)
			 ON CONFLICT DO NOTHING`, tenantID, connectorID, runID, externalIDs)
		return err
	})
}

// ChunksDelete deletes the documents' chunks, each id one look-up.
func (e *executor) ChunksDelete(ctx context.Context, tenantID string, ids []string) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "chunks.delete_changed",
			`DELETE FROM document_chunks c USING unnest($2::uuid[]) AS u(id)
			  WHERE c.tenant_id = $1 AND c.document_id = u.id`, tenantID, ids)
		return err
	})
}

// DocumentsSyncUpdate rewrites changed documents from one JSON parameter.
func (e *executor) DocumentsSyncUpdate(ctx context.Context, tenantID string, docs []engram.PreparedDocument, at time.Time) (int, error) {
	docsJSON, err := rows.DocumentRowsJSON(docs)
	if err != nil {
		return 0, err
	}
	var n int64
	err = e.run(ctx, tenantID, func(q querier) error {
		tag, err := exec(ctx, q, "documents.sync_update",
			`UPDATE documents d
			    SET title = r.title, content = r.content, source_type = r.source_type, content_hash = r.content_hash, metadata = r.metadata::jsonb,
			        sender = r.sender, sender_email = r.sender_email, recipients = r.recipients::jsonb,
			        source_url = r.source_url, source_created_at = r.source_created_at,
			        source_updated_at = r.source_updated_at, chunk_count = r.chunk_count,
			        status = CASE WHEN d.user_confirmed THEN d.status ELSE 'pending' END,
			        updated_at = $1
			   FROM json_to_recordset($2::json) AS r(`+documentRecord+`)
			  WHERE d.tenant_id = $3 AND d.id = r.id AND NOT d.is_deleted`,
			ts(at), string(docsJSON), tenantID)
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

// ConnectorAddSynced adds to the connector's synced total.
func (e *executor) ConnectorAddSynced(ctx context.Context, tenantID, connectorID string, n int, at time.Time) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "connectors.sync_progress",
			`UPDATE connectors SET total_items_synced = total_items_synced + $1, last_sync_at = $2, updated_at = $2
			  WHERE tenant_id = $3 AND id = $4`, n, ts(at), tenantID, connectorID)
		return err
	})
}

// DocumentsArchiveUnseen archives the connector's live documents the run
// did not see.
func (e *executor) DocumentsArchiveUnseen(ctx context.Context, tenantID, connectorID, runID string, at time.Time) (int, error) {
	var n int64
	err := e.run(ctx, tenantID, func(q querier) error {
		tag, err := exec(ctx, q, "sync.archive_missing",
			`UPDATE documents d SET status = 'archived', updated_at = $1
			  WHERE d.tenant_id = $2 AND d.connector_id = $3 AND NOT d.is_deleted AND d.status <> 'archived'
			    AND NOT EXISTS (SELECT 1 FROM sync_seen s
			                     WHERE s.tenant_id = $2 AND s.connector_id = $3 AND s.run_id = $4
			                       AND s.external_id = d.external_id)`,
			ts(at), tenantID, connectorID, runID)
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

// SyncSeenDrop deletes the run's notes.
func (e *executor) SyncSeenDrop(ctx context.Context, tenantID, connectorID, runID string) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "sync.seen_drop",
			`DELETE FROM sync_seen WHERE tenant_id = $1 AND connector_id = $2 AND run_id = $3`, tenantID, connectorID, runID)
		return err
	})
}
