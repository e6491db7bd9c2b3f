package postgres

import (
	"context"
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
	rows.FinishConnector(&c, status, interval)
	c.Settings = compactJSON(settings)
	inUTC(&c.CreatedAt, &c.UpdatedAt, c.LastSyncAt, c.NextSyncAt)
	return c, nil
}

// scanConnectorRow reads a connector row of a list.
func scanConnectorRow(r rows.Scanner) (engram.Connector, error) { return scanConnector(r) }

// ConnectorInsert records an active connector: one statement.
func (e *executor) ConnectorInsert(ctx context.Context, tenantID string, c engram.NewConnectorRow, at time.Time) (engram.Connector, error) {
	next := rows.TimePtr(c.NextSyncAt, ts)
	var out engram.Connector
	err := e.run(ctx, tenantID, func(q querier) error {
		var err error
		out, err = oneRow(ctx, q, "connectors.create",
			`INSERT INTO connectors (tenant_id, id, type, name, status, settings, sync_interval, next_sync_at, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, 'active', $5::jsonb, $7, $8, $6, $6) RETURNING `+connectorColumns,
			scanConnector, tenantID, c.ID, c.Type, c.Name, string(c.Settings), ts(at), c.IntervalSeconds, next)
		return translate(err)
	})
	return out, err
}

// ConnectorList reads the tenant's connectors, oldest first.
func (e *executor) ConnectorList(ctx context.Context, tenantID string) ([]engram.Connector, error) {
	var out []engram.Connector
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "connectors.list",
			`SELECT `+connectorColumns+` FROM connectors WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
		if err != nil {
			return err
		}
		defer rs.Close()
		out, err = rows.Collect(rs, scanConnectorRow)
		return translate(err)
	})
	return out, err
}

// ConnectorGet reads one connector.
func (e *executor) ConnectorGet(ctx context.Context, tenantID, id string) (engram.Connector, bool, error) {
	return e.oneConnector(ctx, tenantID, "connectors.get",
		`SELECT `+connectorColumns+` FROM connectors WHERE tenant_id = $1 AND id = $2`, tenantID, id)
}

// ConnectorUpdate writes a change: $7 says whether the schedule changes,
// $8 is its seconds (NULL: removed), $9 the next sync of a connector that
// has synced before.
func (e *executor) ConnectorUpdate(ctx context.Context, tenantID, id string, ch engram.ConnectorChange, at time.Time) (engram.Connector, bool, error) {
	status, settings := rows.ConnectorChange(ch)
	return e.oneConnector(ctx, tenantID, "connectors.update",
		`UPDATE connectors SET name = coalesce($3, name), status = coalesce($4, status),
		        settings = coalesce($5::jsonb, settings), updated_at = $6,
		        sync_interval = CASE WHEN $7 THEN $8 ELSE sync_interval END,
		        next_sync_at = CASE WHEN NOT $7 THEN next_sync_at
		                            WHEN $8::integer IS NULL THEN NULL
		                            WHEN last_sync_at IS NULL THEN $6
		                            ELSE $9 END
		  WHERE tenant_id = $1 AND id = $2 RETURNING `+connectorColumns,
		tenantID, id, ch.Name, status, settings, ts(at), ch.Schedule, ch.IntervalSeconds, ts(ch.NextIfSynced))
}

// oneConnector runs a statement that returns at most one connector, and
// reports whether it did.
func (e *executor) oneConnector(ctx context.Context, tenantID, op, sql string, args ...any) (engram.Connector, bool, error) {
	var c engram.Connector
	found := false
	err := e.run(ctx, tenantID, func(q querier) error {
		var err error
		c, err = oneRow(ctx, q, op, sql, scanConnector, args...)
		if isNoRows(err) {
			return nil
		}
		found = err == nil
		return translate(err)
	})
	return c, found, err
}

// ConnectorDisconnect sets a connector disconnected: one statement.
func (e *executor) ConnectorDisconnect(ctx context.Context, tenantID, id string, at time.Time) (bool, error) {
	var n int64
	err := e.run(ctx, tenantID, func(q querier) error {
		tag, err := exec(ctx, q, "connectors.disconnect",
			`UPDATE connectors SET status = 'disconnected', updated_at = $3 WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, ts(at))
		n = tag.RowsAffected()
		return err
	})
	return n > 0, err
}
