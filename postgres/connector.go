package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
	"github.com/jackc/pgx/v5"
)

const connectorColumns = `id::text, type, name, status, settings, last_sync_at, last_sync_status, last_sync_error,
	total_items_synced, sync_interval, next_sync_at, created_at, updated_at`

func scanConnector(r pgx.Row) (engram.Connector, error) {
	var c engram.Connector
	var status string
	var settings []byte
	var interval *int64
	if err := r.Scan(&c.ID, &c.Type, &c.Name, &status, &settings, &c.LastSyncAt, &c.LastSyncStatus, &c.LastSyncError,
		&c.TotalItemsSynced, &interval, &c.NextSyncAt, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return c, err
	}
	c.SetSyncSchedule(interval)
	c.Status = engram.ConnectorStatus(status)
	c.Settings = compactJSON(settings)
	inUTC(&c.CreatedAt, &c.UpdatedAt, c.LastSyncAt, c.NextSyncAt)
	return c, nil
}

// CreateConnector adds a connector and its audit row.
func (s *Store) CreateConnector(ctx context.Context, tenantID, actor, typ, name string, settings json.RawMessage, syncInterval time.Duration) (engram.Connector, error) {
	var c engram.Connector
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		now := ts(s.now())
		var interval *int64
		var next *time.Time
		if syncInterval > 0 {
			secs := int64(syncInterval / time.Second)
			interval, next = &secs, &now
		}
		var err error
		c, err = oneRow(ctx, tx, "connectors.create",
			`INSERT INTO connectors (tenant_id, id, type, name, status, settings, sync_interval, next_sync_at, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, 'active', $5::jsonb, $7, $8, $6, $6) RETURNING `+connectorColumns,
			scanConnector, tenantID, engram.NewID(), typ, name, string(settings), now, interval, next)
		if err != nil {
			return translate(err)
		}
		return s.auditTarget(ctx, tx, tenantID, actor, "connectors.create", "connector", 1, map[string]any{"id": c.ID, "type": typ})
	})
	return c, err
}

// ListConnectors returns the tenant's connectors, oldest first.
func (s *Store) ListConnectors(ctx context.Context, tenantID string) ([]engram.Connector, error) {
	out := []engram.Connector{}
	err := s.read(ctx, func(c *pgxConn) error {
		rs, err := query(ctx, c, "connectors.list",
			`SELECT `+connectorColumns+` FROM connectors WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			cn, err := scanConnector(rs)
			if err != nil {
				return err
			}
			out = append(out, cn)
		}
		return translate(rs.Err())
	})
	return out, err
}

// GetConnector returns one connector.
func (s *Store) GetConnector(ctx context.Context, tenantID, id string) (engram.Connector, error) {
	var cn engram.Connector
	err := s.read(ctx, func(c *pgxConn) error {
		var err error
		cn, err = oneRow(ctx, c, "connectors.get",
			`SELECT `+connectorColumns+` FROM connectors WHERE tenant_id = $1 AND id = $2`, scanConnector, tenantID, id)
		if isNoRows(err) {
			return engram.Errorf(engram.ENotFound, "integration %s not found", id)
		}
		return translate(err)
	})
	return cn, err
}

// UpdateConnector changes name, status, settings or schedule in one
// statement.
func (s *Store) UpdateConnector(ctx context.Context, tenantID, actor, id string, p engram.ConnectorPatch) (engram.Connector, error) {
	var c engram.Connector
	now := ts(s.now())
	// $7: whether the schedule changes; $8 its seconds (NULL: removed);
	// $9 the first sync of a connector that has synced before.
	var interval *int64
	var later time.Time
	if p.SyncInterval != nil && *p.SyncInterval > 0 {
		secs := int64(*p.SyncInterval / time.Second)
		interval, later = &secs, now.Add(*p.SyncInterval)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
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
		c, err = oneRow(ctx, tx, "connectors.update",
			`UPDATE connectors SET name = coalesce($1, name), status = coalesce($2, status),
			        settings = coalesce($3::jsonb, settings), updated_at = $4,
			        sync_interval = CASE WHEN $7 THEN $8 ELSE sync_interval END,
			        next_sync_at = CASE WHEN NOT $7 THEN next_sync_at
			                            WHEN $8::integer IS NULL THEN NULL
			                            WHEN last_sync_at IS NULL THEN $4
			                            ELSE $9 END
			  WHERE tenant_id = $5 AND id = $6 RETURNING `+connectorColumns,
			scanConnector, p.Name, status, settings, now, tenantID, id, p.SyncInterval != nil, interval, later)
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

// SyncBatch runs one batch through the pipeline. It first takes the
// connector's row lock (FOR NO KEY UPDATE). A hard delete of documents
// takes FOR SHARE on the connectors of its documents before touching them
// (see DeleteDocuments), so the two exclude each other: a delete that
// committed before the batch's sort is seen as a tombstone, and one that
// starts during the batch waits and then deletes what the batch wrote. A
// deleted item can therefore never be written back by a sync that was
// already running.
func (s *Store) SyncBatch(ctx context.Context, tenantID, connectorID string, items []engram.PreparedDocument, opt engram.SyncOptions) (engram.SyncCounts, error) {
	var counts engram.SyncCounts
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var status string
		err := queryRow(ctx, tx, "connectors.sync_lock",
			`SELECT status FROM connectors WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE`,
			[]any{tenantID, connectorID}, &status)
		if isNoRows(err) {
			return engram.Errorf(engram.ENotFound, "integration %s not found", connectorID)
		}
		if err != nil {
			return err
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
					 SELECT $1, $2, $3, k.external_id FROM json_to_recordset($4::json) AS k(external_id text)
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
					`UPDATE connectors SET total_items_synced = total_items_synced + $1, last_sync_at = $2, updated_at = $2
					  WHERE tenant_id = $3 AND id = $4`, n, ts(s.now()), tenantID, connectorID)
				return err
			},
		})
		return err
	})
	return counts, err
}

// sortItems finds, in one statement, each incoming item's document and
// tombstone by (tenant, connector, external id) through the unique keys,
// never a load of all known ids.
func sortItems(ctx context.Context, tx pgx.Tx, tenantID, connectorID, keys string, n int) ([]engram.ExistingItem, error) {
	rs, err := query(ctx, tx, "sync.sort",
		`SELECT i.ord, d.id::text, d.content_hash, d.title, d.source_updated_at, coalesce(d.is_deleted, false), t.id IS NOT NULL
		   FROM json_to_recordset($3::json) AS i(ord integer, external_id text)
		   LEFT JOIN documents d ON d.tenant_id = $1 AND d.connector_id = $2 AND d.external_id = i.external_id
		   LEFT JOIN deleted_documents t ON t.tenant_id = $1 AND t.connector_id = $2 AND t.external_id = i.external_id`,
		tenantID, connectorID, keys)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := make([]engram.ExistingItem, n)
	for rs.Next() {
		var ord int
		var e engram.ExistingItem
		if err := rs.Scan(&ord, &e.DocumentID, &e.ContentHash, &e.Title, &e.SourceUpdatedAt, &e.IsDeleted, &e.Tombstoned); err != nil {
			return nil, err
		}
		out[ord] = e
	}
	return out, translate(rs.Err())
}

// updateChanged replaces content, chunks and fields of changed documents:
// one statement locks them, one drops their chunks, one rewrites the rows.
// A document goes back to pending for classification unless a person
// decided on it.
func (s *Store) updateChanged(ctx context.Context, tx pgx.Tx, tenantID string, changed []engram.PreparedDocument) (int, error) {
	ids := make([]string, len(changed))
	for i, d := range changed {
		ids[i] = d.ID
	}
	// The rows are locked in id order first, as every bulk write locks
	// them, so a person's bulk confirm of the same documents queues behind
	// this batch (or it behind them) instead of deadlocking with it.
	if _, err := lockDocuments(ctx, tx, tenantID, ids); err != nil {
		return 0, err
	}
	if _, err := exec(ctx, tx, "chunks.delete_changed",
		`DELETE FROM document_chunks c USING unnest($2::uuid[]) AS u(id)
		  WHERE c.tenant_id = $1 AND c.document_id = u.id`, tenantID, ids); err != nil {
		return 0, err
	}
	docsJSON, _, _, err := rows.DocumentsJSON(changed)
	if err != nil {
		return 0, err
	}
	tag, err := exec(ctx, tx, "documents.sync_update",
		`UPDATE documents d
		    SET title = r.title, content = r.content, content_hash = r.content_hash, metadata = r.metadata::jsonb,
		        sender = r.sender, sender_email = r.sender_email, recipients = r.recipients::jsonb,
		        source_url = r.source_url, source_created_at = r.source_created_at,
		        source_updated_at = r.source_updated_at, chunk_count = r.chunk_count,
		        status = CASE WHEN d.user_confirmed THEN d.status ELSE 'pending' END,
		        updated_at = $1
		   FROM json_to_recordset($2::json) AS r(`+documentRecord+`)
		  WHERE d.tenant_id = $3 AND d.id = r.id AND NOT d.is_deleted`,
		ts(s.now()), string(docsJSON), tenantID)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// FinishFullSync archives the connector's live documents the run did not
// see (one anti-join) and drops the run's notes.
func (s *Store) FinishFullSync(ctx context.Context, tenantID, connectorID, runID string, archive bool) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if archive {
			tag, err := exec(ctx, tx, "sync.archive_missing",
				`UPDATE documents d SET status = 'archived', updated_at = $1
			  WHERE d.tenant_id = $2 AND d.connector_id = $3 AND NOT d.is_deleted AND d.status <> 'archived'
			    AND NOT EXISTS (SELECT 1 FROM sync_seen s
			                     WHERE s.tenant_id = $2 AND s.connector_id = $3 AND s.run_id = $4
			                       AND s.external_id = d.external_id)`,
				ts(s.now()), tenantID, connectorID, runID)
			if err != nil {
				return err
			}
			n = tag.RowsAffected()
		}
		_, err := exec(ctx, tx, "sync.seen_drop",
			`DELETE FROM sync_seen WHERE tenant_id = $1 AND connector_id = $2 AND run_id = $3`, tenantID, connectorID, runID)
		return err
	})
	return int(n), err
}

// ConnectorDisconnect sets a connector disconnected: one statement.
func (e *executor) ConnectorDisconnect(ctx context.Context, tenantID, id string, at time.Time) (bool, error) {
	var n int64
	err := e.run(ctx, func(q querier) error {
		tag, err := exec(ctx, q, "connectors.disconnect",
			`UPDATE connectors SET status = 'disconnected', updated_at = $3 WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, ts(at))
		n = tag.RowsAffected()
		return err
	})
	return n > 0, err
}
