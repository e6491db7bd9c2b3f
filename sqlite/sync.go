package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// The statements of a sync batch and of a full sync's end. SQLite has one
// writer, so a batch, from its read to its last write, sees no other
// write: a hard delete either committed before the read (and its
// tombstone is seen) or runs after the batch.

// ConnectorLockForBatch reads the connector's status; the one writer
// needs no lock.
func (e *executor) ConnectorLockForBatch(ctx context.Context, tenantID, connectorID string) (engram.ConnectorStatus, bool, error) {
	var status string
	err := queryRow(ctx, e.q, "connectors.sync_check",
		`SELECT status FROM connectors WHERE tenant_id = ? AND id = ?`, tenantID, connectorID).Scan(&status)
	if isNoRows(err) {
		return "", false, nil
	}
	return engram.ConnectorStatus(status), err == nil, translate(err)
}

// SyncExistingRead looks each external id up in the unique keys of
// documents and tombstones (tenant, connector, external id): the ids drive
// the join, never a load of all the connector's ids.
func (e *executor) SyncExistingRead(ctx context.Context, tenantID, connectorID string, externalIDs []string) ([]engram.SyncExisting, error) {
	rs, err := query(ctx, e.q, "sync.sort",
		`WITH i AS MATERIALIZED (SELECT value AS ext FROM json_each(?3))
		 SELECT i.ext, d.id, d.content_hash, d.title, d.source_type, d.source_updated_at, coalesce(d.is_deleted, 0), t.id IS NOT NULL
		   FROM i
		   LEFT JOIN documents d ON d.tenant_id = ?1 AND d.connector_id = ?2 AND d.external_id = i.ext
		   LEFT JOIN deleted_documents t ON t.tenant_id = ?1 AND t.connector_id = ?2 AND t.external_id = i.ext
		  WHERE d.id IS NOT NULL OR t.id IS NOT NULL`,
		tenantID, connectorID, rows.IDsJSON(externalIDs))
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []engram.SyncExisting
	for rs.Next() {
		var x engram.SyncExisting
		var id, hash, title, source, updated sql.NullString
		if err := rs.Scan(&x.ExternalID, &id, &hash, &title, &source, &updated, &x.IsDeleted, &x.Tombstoned); err != nil {
			return nil, err
		}
		x.DocumentID, x.ContentHash, x.Title, x.SourceType = id.String, hash.String, title.String, source.String
		x.SourceUpdatedAt = parseTimePtr(updated)
		out = append(out, x)
	}
	return out, translate(rs.Err())
}

// SyncSeenInsert notes the external ids under the run.
func (e *executor) SyncSeenInsert(ctx context.Context, tenantID, connectorID, runID string, externalIDs []string) error {
	_, err := exec(ctx, e.q, "sync.seen",
		`INSERT INTO sync_seen (tenant_id, connector_id, run_id, external_id)
		 SELECT ?1, ?2, ?3, value FROM json_each(?4) WHERE true
		 ON CONFLICT DO NOTHING`, tenantID, connectorID, runID, rows.IDsJSON(externalIDs))
	return err
}

// ChunksDelete deletes the documents' chunks.
func (e *executor) ChunksDelete(ctx context.Context, tenantID string, ids []string) error {
	_, err := exec(ctx, e.q, "chunks.delete_changed",
		`DELETE FROM document_chunks WHERE tenant_id = ? AND document_id IN (SELECT value FROM json_each(?))`,
		tenantID, rows.IDsJSON(ids))
	return err
}

// DocumentsSyncUpdate rewrites changed documents. The rows are found by
// primary key first and written by rowid (as in ClassifyWrite), so a
// tenant that grew after the last ANALYZE is not read whole through an
// index range.
func (e *executor) DocumentsSyncUpdate(ctx context.Context, tenantID string, docs []engram.PreparedDocument, at time.Time) (int, error) {
	docsJSON, err := rows.DocumentRowsJSON(docs)
	if err != nil {
		return 0, err
	}
	res, err := exec(ctx, e.q, "documents.sync_update",
		`WITH r AS MATERIALIZED (
		     SELECT value->>'id' AS id, value->>'title' AS title, value->>'content' AS content,
		            value->>'source_type' AS source_type,
		            value->>'content_hash' AS content_hash, value->>'metadata' AS metadata,
		            value->>'sender' AS sender, value->>'sender_email' AS sender_email,
		            value->>'recipients' AS recipients, value->>'source_url' AS source_url,
		            value->>'source_created_at' AS source_created_at,
		            value->>'source_updated_at' AS source_updated_at, value->>'chunk_count' AS chunk_count
		       FROM json_each(?2)),
		 v AS MATERIALIZED (
		     SELECT d.rowid AS rid, r.* FROM r CROSS JOIN documents d ON d.tenant_id = ?3 AND d.id = r.id)
		 UPDATE documents
		    SET title = v.title, content = v.content, source_type = v.source_type, content_hash = v.content_hash, metadata = v.metadata,
		        sender = v.sender, sender_email = v.sender_email, recipients = v.recipients,
		        source_url = v.source_url, source_created_at = v.source_created_at,
		        source_updated_at = v.source_updated_at, chunk_count = v.chunk_count,
		        status = CASE WHEN documents.user_confirmed = 1 THEN documents.status ELSE 'pending' END,
		        updated_at = ?1
		   FROM v
		  WHERE documents.rowid = v.rid AND documents.tenant_id = ?3 AND documents.is_deleted = 0`,
		fmtTime(at), string(docsJSON), tenantID)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ConnectorAddSynced adds to the connector's synced total.
func (e *executor) ConnectorAddSynced(ctx context.Context, tenantID, connectorID string, n int, at time.Time) error {
	_, err := exec(ctx, e.q, "connectors.sync_progress",
		`UPDATE connectors SET total_items_synced = total_items_synced + ?1, last_sync_at = ?2, updated_at = ?2
		  WHERE tenant_id = ?3 AND id = ?4`, n, fmtTime(at), tenantID, connectorID)
	return err
}

// DocumentsArchiveUnseen archives the connector's live documents the run
// did not see.
func (e *executor) DocumentsArchiveUnseen(ctx context.Context, tenantID, connectorID, runID string, at time.Time) (int, error) {
	res, err := exec(ctx, e.q, "sync.archive_missing",
		`UPDATE documents SET status = 'archived', updated_at = ?1
		  WHERE tenant_id = ?2 AND connector_id = ?3 AND is_deleted = 0 AND status <> 'archived'
		    AND NOT EXISTS (SELECT 1 FROM sync_seen s
		                     WHERE s.tenant_id = ?2 AND s.connector_id = ?3 AND s.run_id = ?4
		                       AND s.external_id = documents.external_id)`,
		fmtTime(at), tenantID, connectorID, runID)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SyncSeenDrop deletes the run's notes.
func (e *executor) SyncSeenDrop(ctx context.Context, tenantID, connectorID, runID string) error {
	_, err := exec(ctx, e.q, "sync.seen_drop",
		`DELETE FROM sync_seen WHERE tenant_id = ? AND connector_id = ? AND run_id = ?`, tenantID, connectorID, runID)
	return err
}
