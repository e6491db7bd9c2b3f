package engram

import (
	"context"
	"encoding/json"
	"time"
)

// NewConnectorRow is a connector to record: its id, type, name, validated
// settings and sync schedule (IntervalSeconds nil: none; its first sync is
// then NextSyncAt, nil with no schedule).
type NewConnectorRow struct {
	ID              string
	Type            string
	Name            string
	Settings        json.RawMessage
	IntervalSeconds *int64
	NextSyncAt      *time.Time
}

// ConnectorChange is what ConnectorUpdate writes. Nil fields stay as they
// are. When Schedule is set the schedule becomes IntervalSeconds (nil
// removes it), and the next sync is due at the update's time for a
// connector that never synced, or at NextIfSynced for one that has: the
// statement reads last_sync_at, so the choice is made where the row is.
type ConnectorChange struct {
	Name            *string
	Status          *ConnectorStatus
	Settings        json.RawMessage
	Schedule        bool
	IntervalSeconds *int64
	NextIfSynced    time.Time
}

// ConnectorExecutor runs the connector statements.
type ConnectorExecutor interface {
	// ConnectorInsert records an active connector created at at and
	// returns it: one statement. Returns conflict.
	ConnectorInsert(ctx context.Context, tenantID string, c NewConnectorRow, at time.Time) (Connector, error)
	// ConnectorList reads the tenant's connectors, oldest first: one
	// statement.
	ConnectorList(ctx context.Context, tenantID string) ([]Connector, error)
	// ConnectorGet reads one connector: one statement. It reports false
	// when the tenant has no such connector.
	ConnectorGet(ctx context.Context, tenantID, id string) (Connector, bool, error)
	// ConnectorUpdate writes ch at at and returns the connector as it is
	// after: one statement. It reports false when the tenant has no such
	// connector.
	ConnectorUpdate(ctx context.Context, tenantID, id string, ch ConnectorChange, at time.Time) (Connector, bool, error)
	// ConnectorDisconnect sets the tenant's connector disconnected and
	// reports whether it exists: one statement.
	ConnectorDisconnect(ctx context.Context, tenantID, id string, at time.Time) (bool, error)
}
