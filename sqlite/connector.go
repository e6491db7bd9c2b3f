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

func scanConnector(r rows.Scanner) (engram.Connector, error) {
	var c engram.Connector
	var status, settings, created, updated string
	var lastAt, lastStatus, lastErr, nextAt sql.NullString
	var interval *int64
	if err := r.Scan(&c.ID, &c.Type, &c.Name, &status, &settings, &lastAt, &lastStatus, &lastErr,
		&c.TotalItemsSynced, &interval, &nextAt, &created, &updated); err != nil {
		return c, err
	}
	rows.FinishConnector(&c, status, interval)
	c.NextSyncAt = parseTimePtr(nextAt)
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

// ConnectorInsert records an active connector: one statement.
func (e *executor) ConnectorInsert(ctx context.Context, tenantID string, c engram.NewConnectorRow, at time.Time) (engram.Connector, error) {
	next := rows.TimePtr(c.NextSyncAt, fmtTime)
	out, err := scanConnector(queryRow(ctx, e.q, "connectors.create",
		`INSERT INTO connectors (tenant_id, id, type, name, status, settings, sync_interval, next_sync_at, created_at, updated_at)
		 VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?7, ?8, ?6, ?6) RETURNING `+connectorColumns,
		tenantID, c.ID, c.Type, c.Name, string(c.Settings), fmtTime(at), c.IntervalSeconds, next))
	return out, translate(err)
}

// ConnectorList reads the tenant's connectors, oldest first.
func (e *executor) ConnectorList(ctx context.Context, tenantID string) ([]engram.Connector, error) {
	rs, err := query(ctx, e.q, "connectors.list",
		`SELECT `+connectorColumns+` FROM connectors WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out, err := rows.Collect(rs, scanConnector)
	return out, translate(err)
}

// ConnectorGet reads one connector.
func (e *executor) ConnectorGet(ctx context.Context, tenantID, id string) (engram.Connector, bool, error) {
	return found(scanConnector(queryRow(ctx, e.q, "connectors.get",
		`SELECT `+connectorColumns+` FROM connectors WHERE tenant_id = ? AND id = ?`, tenantID, id)))
}

// ConnectorUpdate writes a change: ?7 says whether the schedule changes,
// ?8 is its seconds (NULL: removed), ?9 the next sync of a connector that
// has synced before.
func (e *executor) ConnectorUpdate(ctx context.Context, tenantID, id string, ch engram.ConnectorChange, at time.Time) (engram.Connector, bool, error) {
	status, settings := rows.ConnectorChange(ch)
	return found(scanConnector(queryRow(ctx, e.q, "connectors.update",
		`UPDATE connectors SET name = coalesce(?1, name), status = coalesce(?2, status),
		        settings = coalesce(?3, settings), updated_at = ?4,
		        sync_interval = CASE WHEN ?7 THEN ?8 ELSE sync_interval END,
		        next_sync_at = CASE WHEN NOT ?7 THEN next_sync_at
		                            WHEN ?8 IS NULL THEN NULL
		                            WHEN last_sync_at IS NULL THEN ?4
		                            ELSE ?9 END
		  WHERE tenant_id = ?5 AND id = ?6 RETURNING `+connectorColumns,
		ch.Name, status, settings, fmtTime(at), tenantID, id, ch.Schedule, ch.IntervalSeconds, fmtTime(ch.NextIfSynced))))
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
