package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

const connectorColumns = `id, type, name, status, settings, last_sync_at, last_sync_status, last_sync_error,
	total_items_synced, sync_interval, next_sync_at, created_at, updated_at`

func scanConnector(r scanner) (engram.Connector, error) {
	var c engram.Connector
	var status, settings, created, updated string
	var lastAt, lastStatus, lastErr, nextAt sql.NullString
	var interval *int64
	if err := r.Scan(&c.ID, &c.Type, &c.Name, &status, &settings, &lastAt, &lastStatus, &lastErr,
		&c.TotalItemsSynced, &interval, &nextAt, &created, &updated); err != nil {
		return c, err
	}
	c.SetSyncSchedule(interval)
	c.NextSyncAt = parseTimePtr(nextAt)
	c.Status = engram.ConnectorStatus(status)
	c.Settings = json.RawMessage(settings)
	c.LastSyncAt = parseTimePtr(lastAt)
	if lastStatus.Valid {
		c.LastSyncStatus = &lastStatus.String
	}
	if lastErr.Valid {
		c.LastSyncError = &lastErr.String
	}
	c.CreatedAt, c.UpdatedAt = parseTime(created), parseTime(updated)
	return c, nil
}

// CreateConnector adds a connector and its audit row.
func (s *Store) CreateConnector(ctx context.Context, tenantID, actor, typ, name string, settings json.RawMessage, syncInterval time.Duration) (engram.Connector, error) {
	var c engram.Connector
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.nowText()
		var interval *int64
		var next *string
		if syncInterval > 0 {
			secs := int64(syncInterval / time.Second)
			interval, next = &secs, &now
		}
		var err error
		c, err = scanConnector(queryRow(ctx, tx, "connectors.create",
			`INSERT INTO connectors (tenant_id, id, type, name, status, settings, sync_interval, next_sync_at, created_at, updated_at)
			 VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?7, ?8, ?6, ?6) RETURNING `+connectorColumns,
			tenantID, engram.NewID(), typ, name, string(settings), now, interval, next))
		if err != nil {
			return translate(err)
		}
		return s.auditTarget(ctx, tx, tenantID, actor, "connectors.create", "connector", 1, map[string]any{"id": c.ID, "type": typ})
	})
	return c, err
}

// ListConnectors returns the tenant's connectors, oldest first.
func (s *Store) ListConnectors(ctx context.Context, tenantID string) ([]engram.Connector, error) {
	rs, err := query(ctx, s.read, "connectors.list",
		`SELECT `+connectorColumns+` FROM connectors WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []engram.Connector{}
	for rs.Next() {
		c, err := scanConnector(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, translate(rs.Err())
}

// GetConnector returns one connector.
func (s *Store) GetConnector(ctx context.Context, tenantID, id string) (engram.Connector, error) {
	c, err := scanConnector(queryRow(ctx, s.read, "connectors.get",
		`SELECT `+connectorColumns+` FROM connectors WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if isNoRows(err) {
		return c, engram.Errorf(engram.ENotFound, "integration %s not found", id)
	}
	return c, translate(err)
}

// UpdateConnector changes name, status, settings or schedule in one
// statement.
func (s *Store) UpdateConnector(ctx context.Context, tenantID, actor, id string, p engram.ConnectorPatch) (engram.Connector, error) {
	var c engram.Connector
	now := s.now()
	// ?7: whether the schedule changes; ?8 its seconds (NULL: removed);
	// ?9 the first sync of a connector that has synced before.
	var interval *int64
	var later string
	if p.SyncInterval != nil && *p.SyncInterval > 0 {
		secs := int64(*p.SyncInterval / time.Second)
		interval, later = &secs, fmtTime(now.Add(*p.SyncInterval))
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var status, settings *string
		if p.Status != nil {
			st := string(*p.Status)
			status = &st
		}
		if p.Settings != nil {
			st := string(p.Settings)
			settings = &st
		}
		var err error
		c, err = scanConnector(queryRow(ctx, tx, "connectors.update",
			`UPDATE connectors SET name = coalesce(?1, name), status = coalesce(?2, status),
			        settings = coalesce(?3, settings), updated_at = ?4,
			        sync_interval = CASE WHEN ?7 THEN ?8 ELSE sync_interval END,
			        next_sync_at = CASE WHEN NOT ?7 THEN next_sync_at
			                            WHEN ?8 IS NULL THEN NULL
			                            WHEN last_sync_at IS NULL THEN ?4
			                            ELSE ?9 END
			  WHERE tenant_id = ?5 AND id = ?6 RETURNING `+connectorColumns,
			p.Name, status, settings, fmtTime(now), tenantID, id, p.SyncInterval != nil, interval, later))
		if isNoRows(err) {
			return engram.Errorf(engram.ENotFound, "integration %s not found", id)
		}
		if err != nil {
			return translate(err)
		}
		if p.Status != nil && *p.Status == engram.ConnectorDisconnected {
			return s.auditTarget(ctx, tx, tenantID, actor, "connectors.disconnect", "connector", 1, map[string]any{"id": id})
		}
		return nil
	})
	return c, err
}

// SyncBatch runs one batch through the pipeline. SQLite has one writer, so
// the whole batch, from sorting to writing, sees no other write: a hard
// delete either committed before the sort (and its tombstone is seen) or
// runs after the batch (and deletes what the batch wrote).
func (s *Store) SyncBatch(ctx context.Context, tenantID, connectorID string, items []engram.PreparedDocument, opt engram.SyncOptions) (engram.SyncCounts, error) {
	var counts engram.SyncCounts
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		err := queryRow(ctx, tx, "connectors.sync_check",
			`SELECT status FROM connectors WHERE tenant_id = ? AND id = ?`, tenantID, connectorID).Scan(&status)
		if isNoRows(err) {
			return engram.Errorf(engram.ENotFound, "integration %s not found", connectorID)
		}
		if err != nil {
			return translate(err)
		}
		if status == string(engram.ConnectorDisconnected) {
			return engram.Errorf(engram.EConflict, "integration %s is disconnected; reconnect it before syncing", connectorID)
		}
		counts, err = rows.ApplySync(items, opt.RunID != "", rows.SyncSteps{
			Sort: func(keys string, n int) ([]engram.ExistingItem, error) {
				return sortItems(ctx, tx, tenantID, connectorID, keys, n)
			},
			MarkSeen: func(keys string) error {
				_, err := exec(ctx, tx, "sync.seen",
					`INSERT INTO sync_seen (tenant_id, connector_id, run_id, external_id)
					 SELECT ?1, ?2, ?3, value->>'external_id' FROM json_each(?4) WHERE true
					 ON CONFLICT DO NOTHING`, tenantID, connectorID, opt.RunID, keys)
				return err
			},
			InsertDocuments: func(docsJSON []byte) error { return insertDocumentRows(ctx, tx, tenantID, docsJSON, s.now()) },
			UpdateChanged: func(changed []engram.PreparedDocument) (int, error) {
				return s.updateChanged(ctx, tx, tenantID, changed)
			},
			InsertChunks: func(chunksJSON []byte) error { return insertChunks(ctx, tx, tenantID, chunksJSON) },
			Progress: func(n int) error {
				_, err := exec(ctx, tx, "connectors.sync_progress",
					`UPDATE connectors SET total_items_synced = total_items_synced + ?, last_sync_at = ?, updated_at = ?
					  WHERE tenant_id = ? AND id = ?`, n, s.nowText(), s.nowText(), tenantID, connectorID)
				return err
			},
		})
		return err
	})
	return counts, err
}

// sortItems finds, in one statement, each incoming item's document and
// tombstone by (tenant, connector, external id): an anti-join on the
// unique keys, never a load of all known ids.
func sortItems(ctx context.Context, tx *sql.Tx, tenantID, connectorID, keys string, n int) ([]engram.ExistingItem, error) {
	rs, err := query(ctx, tx, "sync.sort",
		`WITH i AS MATERIALIZED (SELECT value->>'ord' AS ord, value->>'external_id' AS ext FROM json_each(?3))
		 SELECT i.ord, d.id, d.content_hash, d.title, d.source_updated_at, coalesce(d.is_deleted, 0), t.id IS NOT NULL
		   FROM i
		   LEFT JOIN documents d ON d.tenant_id = ?1 AND d.connector_id = ?2 AND d.external_id = i.ext
		   LEFT JOIN deleted_documents t ON t.tenant_id = ?1 AND t.connector_id = ?2 AND t.external_id = i.ext`,
		tenantID, connectorID, keys)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := make([]engram.ExistingItem, n)
	for rs.Next() {
		var ord int
		var e engram.ExistingItem
		var id, hash, title, updated sql.NullString
		if err := rs.Scan(&ord, &id, &hash, &title, &updated, &e.IsDeleted, &e.Tombstoned); err != nil {
			return nil, err
		}
		if id.Valid {
			e.DocumentID, e.ContentHash, e.Title = &id.String, &hash.String, &title.String
			e.SourceUpdatedAt = parseTimePtr(updated)
		}
		out[ord] = e
	}
	return out, translate(rs.Err())
}

// updateChanged replaces content, chunks and fields of changed documents:
// one statement drops their chunks, one rewrites the rows. A document goes
// back to pending for classification unless a person decided on it. The
// rows are found by primary key first and written by rowid (as in
// ClassifyWrite), so a tenant that grew after the last ANALYZE is not read
// whole through an index range.
func (s *Store) updateChanged(ctx context.Context, tx *sql.Tx, tenantID string, changed []engram.PreparedDocument) (int, error) {
	ids := make([]string, len(changed))
	for i, d := range changed {
		ids[i] = d.ID
	}
	if _, err := exec(ctx, tx, "chunks.delete_changed",
		`DELETE FROM document_chunks WHERE tenant_id = ? AND document_id IN (SELECT value FROM json_each(?))`,
		tenantID, rows.IDsJSON(ids)); err != nil {
		return 0, err
	}
	docsJSON, _, _, err := rows.DocumentsJSON(changed)
	if err != nil {
		return 0, err
	}
	res, err := exec(ctx, tx, "documents.sync_update",
		`WITH r AS MATERIALIZED (
		     SELECT value->>'id' AS id, value->>'title' AS title, value->>'content' AS content,
		            value->>'content_hash' AS content_hash, value->>'metadata' AS metadata,
		            value->>'sender' AS sender, value->>'sender_email' AS sender_email,
		            value->>'recipients' AS recipients, value->>'source_url' AS source_url,
		            value->>'source_created_at' AS source_created_at,
		            value->>'source_updated_at' AS source_updated_at, value->>'chunk_count' AS chunk_count
		       FROM json_each(?2)),
		 v AS MATERIALIZED (
		     SELECT d.rowid AS rid, r.* FROM r CROSS JOIN documents d ON d.tenant_id = ?3 AND d.id = r.id)
		 UPDATE documents
		    SET title = v.title, content = v.content, content_hash = v.content_hash, metadata = v.metadata,
		        sender = v.sender, sender_email = v.sender_email, recipients = v.recipients,
		        source_url = v.source_url, source_created_at = v.source_created_at,
		        source_updated_at = v.source_updated_at, chunk_count = v.chunk_count,
		        status = CASE WHEN documents.user_confirmed = 1 THEN documents.status ELSE 'pending' END,
		        updated_at = ?1
		   FROM v
		  WHERE documents.rowid = v.rid AND documents.tenant_id = ?3 AND documents.is_deleted = 0`,
		s.nowText(), string(docsJSON), tenantID)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// FinishFullSync archives the connector's live documents the run did not
// see (one anti-join) and drops the run's notes.
func (s *Store) FinishFullSync(ctx context.Context, tenantID, connectorID, runID string, archive bool) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if archive {
			res, err := exec(ctx, tx, "sync.archive_missing",
				`UPDATE documents SET status = 'archived', updated_at = ?1
			  WHERE tenant_id = ?2 AND connector_id = ?3 AND is_deleted = 0 AND status <> 'archived'
			    AND NOT EXISTS (SELECT 1 FROM sync_seen s
			                     WHERE s.tenant_id = ?2 AND s.connector_id = ?3 AND s.run_id = ?4
			                       AND s.external_id = documents.external_id)`,
				s.nowText(), tenantID, connectorID, runID)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
		}
		_, err := exec(ctx, tx, "sync.seen_drop",
			`DELETE FROM sync_seen WHERE tenant_id = ? AND connector_id = ? AND run_id = ?`, tenantID, connectorID, runID)
		return err
	})
	return int(n), err
}

// ConnectorDisconnect sets a connector disconnected: one statement.
func (e *executor) ConnectorDisconnect(ctx context.Context, tenantID, id string, at time.Time) (bool, error) {
	res, err := exec(ctx, e.q, "connectors.disconnect",
		`UPDATE connectors SET status = 'disconnected', updated_at = ? WHERE tenant_id = ? AND id = ?`,
		fmtTime(at), tenantID, id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
