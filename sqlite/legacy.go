package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/engram-kb/engram"
)

// audit writes the one audit_log row of a destructive or bulk request on
// documents.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, tenantID, actor, action string, count int, details map[string]any) error {
	return s.auditTarget(ctx, tx, tenantID, actor, action, "document", count, details)
}

// auditTarget writes one audit_log row about targets of the given type.
func (s *Store) auditTarget(ctx context.Context, tx *sql.Tx, tenantID, actor, action, target string, count int, details map[string]any) error {
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	_, err = exec(ctx, tx, "audit.insert",
		`INSERT INTO audit_log (tenant_id, id, at, actor_key_id, action, target_type, target_count, details)
		 VALUES (?, ?, ?, nullif(?, ''), ?, ?, ?, ?)`,
		tenantID, engram.NewID(), s.nowText(), actor, action, target, count, string(b))
	return err
}

func withIDs(m map[string]any, ids []string) map[string]any {
	if m == nil {
		m = map[string]any{}
	}
	m["ids"] = ids
	return m
}
