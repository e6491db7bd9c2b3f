package service

import (
	"context"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
)

// Connectors: the sources a tenant syncs. Their settings are validated by
// the caller for the connector's type; the rules here are the schedule's
// first sync and which changes are audited.

// CreateConnector records an active connector and audits it, in one
// transaction of two statements. A schedule's first sync is due at once.
// Returns conflict.
func (s *Store) CreateConnector(ctx context.Context, tenantID, actor, typ, name string, settings json.RawMessage, syncInterval time.Duration) (engram.Connector, error) {
	var out engram.Connector
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		now := s.now()
		row := engram.NewConnectorRow{ID: engram.NewID(), Type: typ, Name: name, Settings: settings}
		if syncInterval > 0 {
			secs := int64(syncInterval / time.Second)
			row.IntervalSeconds, row.NextSyncAt = &secs, &now
		}
		c, err := tx.ConnectorInsert(ctx, tenantID, row, now)
		if err != nil {
			return err
		}
		out = c
		return s.audit(ctx, tx, tenantID, actor, "connectors.create", "connector", 1, map[string]any{"id": c.ID, "type": typ})
	})
	return out, err
}

// ListConnectors returns the tenant's connectors, oldest first, in one
// statement.
func (s *Store) ListConnectors(ctx context.Context, tenantID string) ([]engram.Connector, error) {
	return s.d.Reader().ConnectorList(ctx, tenantID)
}

// GetConnector returns one connector in one statement. Returns not_found.
func (s *Store) GetConnector(ctx context.Context, tenantID, id string) (engram.Connector, error) {
	c, ok, err := s.d.Reader().ConnectorGet(ctx, tenantID, id)
	if err == nil && !ok {
		err = connectorNotFound(id)
	}
	return c, err
}

// UpdateConnector changes name, status, settings or schedule in one
// statement, and audits a disconnect in a second, in one transaction. A
// new schedule's first sync is one interval from now, or now for a
// connector that never synced. Returns not_found.
func (s *Store) UpdateConnector(ctx context.Context, tenantID, actor, id string, p engram.ConnectorPatch) (engram.Connector, error) {
	now := s.now()
	ch := engram.ConnectorChange{Name: p.Name, Status: p.Status, Settings: p.Settings, Schedule: p.SyncInterval != nil}
	if p.SyncInterval != nil && *p.SyncInterval > 0 {
		secs := int64(*p.SyncInterval / time.Second)
		ch.IntervalSeconds, ch.NextIfSynced = &secs, now.Add(*p.SyncInterval)
	}
	var out engram.Connector
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		c, ok, err := tx.ConnectorUpdate(ctx, tenantID, id, ch, now)
		if err != nil {
			return err
		}
		if !ok {
			return connectorNotFound(id)
		}
		out = c
		if p.Status != nil && *p.Status == engram.ConnectorDisconnected {
			return s.audit(ctx, tx, tenantID, actor, "connectors.disconnect", "connector", 1, map[string]any{"id": id})
		}
		return nil
	})
	return out, err
}

func connectorNotFound(id string) error {
	return engram.Errorf(engram.ENotFound, "integration %s not found", id)
}
