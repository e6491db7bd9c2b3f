package postgres

import (
	"context"
	"encoding/json"

	"github.com/engram-kb/engram"
	"github.com/jackc/pgx/v5"
)

// audit writes the one audit_log row of a destructive or bulk request on
// documents.
func (s *Store) audit(ctx context.Context, tx pgx.Tx, tenantID, actor, action string, count int, details map[string]any) error {
	return s.auditTarget(ctx, tx, tenantID, actor, action, "document", count, details)
}

// auditTarget writes one audit_log row about targets of the given type.
func (s *Store) auditTarget(ctx context.Context, tx pgx.Tx, tenantID, actor, action, target string, count int, details map[string]any) error {
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	_, err = exec(ctx, tx, "audit.insert",
		`INSERT INTO audit_log (tenant_id, id, at, actor_key_id, action, target_type, target_count, details)
		 VALUES ($1, $2, $3, nullif($4, '')::uuid, $5, $6, $7, $8::jsonb)`,
		tenantID, engram.NewID(), ts(s.now()), actor, action, target, count, string(b))
	return err
}

// collectIDs reads a one-column result of ids into a set.
func collectIDs(rs pgx.Rows) (map[string]bool, error) {
	defer rs.Close()
	found := map[string]bool{}
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		found[id] = true
	}
	return found, translate(rs.Err())
}

func withIDs(m map[string]any, ids []string) map[string]any {
	if m == nil {
		m = map[string]any{}
	}
	m["ids"] = ids
	return m
}
