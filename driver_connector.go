package engram

import (
	"context"
	"time"
)

// ConnectorExecutor runs the connector statements.
type ConnectorExecutor interface {
	// ConnectorDisconnect sets the tenant's connector disconnected and
	// reports whether it exists: one statement.
	ConnectorDisconnect(ctx context.Context, tenantID, id string, at time.Time) (bool, error)
}
