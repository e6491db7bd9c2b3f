package sqlite

import (
	"context"
	"database/sql"
)

// updateReturningIDs runs an UPDATE … RETURNING id and collects the ids.
func updateReturningIDs(ctx context.Context, tx *sql.Tx, op, q string, args ...any) (map[string]bool, error) {
	rs, err := query(ctx, tx, op, q, args...)
	if err != nil {
		return nil, err
	}
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
