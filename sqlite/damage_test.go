package sqlite_test

import (
	"context"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/sqlite"
)

// damage writes valid JSON of the wrong shape where the driver expects an
// object (settings) or an array of strings (recipients): the CHECK
// (json_valid) constraints let it through, as they would let through a
// bad migration or a hand edit.
func damage(t *testing.T, d engram.Driver, tenantID, documentID string) {
	t.Helper()
	db := d.(*sqlite.Store).WriteDB()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `UPDATE tenants SET settings = '[1]' WHERE id = ?`, tenantID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE documents SET recipients = '{"to": 1}' WHERE tenant_id = ? AND id = ?`, tenantID, documentID); err != nil {
		t.Fatal(err)
	}
}
