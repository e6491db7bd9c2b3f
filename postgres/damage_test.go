package postgres_test

import (
	"context"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/postgres"
)

// damage writes valid JSON of the wrong shape where the driver expects an
// object (settings) or an array of strings (recipients): jsonb takes any
// JSON, as it would from a bad migration or a hand edit.
func damage(t *testing.T, d engram.Driver, tenantID, documentID string) {
	t.Helper()
	pool := d.(*postgres.Store).Pool()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `UPDATE tenants SET settings = '[1]' WHERE id = $1`, tenantID); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE documents SET recipients = '{"to": 1}' WHERE tenant_id = $1 AND id = $2`, tenantID, documentID); err != nil {
		t.Fatal(err)
	}
}
