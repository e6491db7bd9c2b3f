package postgres

import "github.com/jackc/pgx/v5"

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
