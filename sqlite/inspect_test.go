package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/storetest"
)

// inspector reads rows straight from the database for the conformance
// suite.
type inspector struct{ s *Store }

// NewInspector returns the conformance suite's view into s.
func NewInspector(s *Store) storetest.Inspector { return inspector{s} }

func (in inspector) count(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := in.s.read.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("inspect: %v", err)
	}
	return n
}

func (in inspector) ChunkRows(t testing.TB, tenantID, docID string) int {
	return in.count(t, `SELECT count(*) FROM document_chunks WHERE tenant_id = ? AND document_id = ?`, tenantID, docID)
}

func (in inspector) DocumentRows(t testing.TB, tenantID string) int {
	return in.count(t, `SELECT count(*) FROM documents WHERE tenant_id = ?`, tenantID)
}

func (in inspector) TombstoneRows(t testing.TB, tenantID string) int {
	return in.count(t, `SELECT count(*) FROM deleted_documents WHERE tenant_id = ?`, tenantID)
}

func (in inspector) AuditRows(t testing.TB, tenantID, action string) (int, int) {
	n := in.count(t, `SELECT count(*) FROM audit_log WHERE tenant_id = ? AND action = ?`, tenantID, action)
	if n == 0 {
		return 0, 0
	}
	return n, in.count(t, `SELECT target_count FROM audit_log WHERE tenant_id = ? AND action = ? ORDER BY at DESC, id DESC LIMIT 1`, tenantID, action)
}

func (in inspector) InsertConnector(t testing.TB, tenantID string) string {
	t.Helper()
	id := engram.NewID()
	now := fmtTime(time.Now())
	if _, err := in.s.write.Exec(`INSERT INTO connectors (tenant_id, id, type, name, created_at, updated_at) VALUES (?, ?, 'push', 'test', ?, ?)`,
		tenantID, id, now, now); err != nil {
		t.Fatalf("insert connector: %v", err)
	}
	return id
}

func (in inspector) GapRows(t testing.TB, tenantID string) int {
	return in.count(t, `SELECT count(*) FROM knowledge_gaps WHERE tenant_id = ?`, tenantID)
}

func (in inspector) GapChildRows(t testing.TB, tenantID, gapID, table string) int {
	t.Helper()
	switch table {
	case "gap_questions", "gap_answers", "gap_documents", "gap_feedback":
	default:
		t.Fatalf("inspect: %q is not a gap table", table)
	}
	return in.count(t, `SELECT count(*) FROM `+table+` WHERE tenant_id = ? AND gap_id = ?`, tenantID, gapID)
}

func (in inspector) AuditTarget(t testing.TB, tenantID, action string) string {
	t.Helper()
	var target string
	err := in.s.read.QueryRowContext(context.Background(), `SELECT target_type FROM audit_log WHERE tenant_id = ? AND action = ? ORDER BY at DESC, id DESC LIMIT 1`, tenantID, action).Scan(&target)
	if err != nil && !strings.Contains(err.Error(), "no rows") {
		t.Fatalf("inspect: %v", err)
	}
	return target
}

func (in inspector) AuditActor(t testing.TB, tenantID, action string) (string, string) {
	t.Helper()
	var key, user sql.NullString
	err := in.s.read.QueryRowContext(context.Background(), `SELECT actor_key_id, actor_user_id FROM audit_log
		WHERE tenant_id = ? AND action = ? ORDER BY at DESC, id DESC LIMIT 1`, tenantID, action).Scan(&key, &user)
	if err != nil {
		t.Fatalf("inspect audit actor of %s: %v", action, err)
	}
	return key.String, user.String
}

func (in inspector) AccountSecrets(t testing.TB, tenantID string) []string {
	t.Helper()
	rs, err := in.s.read.QueryContext(context.Background(), `
		SELECT password_hash FROM users WHERE tenant_id = ?1
		UNION ALL SELECT access_hash FROM sessions WHERE tenant_id = ?1
		UNION ALL SELECT refresh_hash FROM sessions WHERE tenant_id = ?1
		UNION ALL SELECT token_hash FROM invitations WHERE tenant_id = ?1
		UNION ALL SELECT key_hash FROM api_keys WHERE tenant_id = ?1`, tenantID)
	if err != nil {
		t.Fatalf("inspect secrets: %v", err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var v string
		if err := rs.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func (in inspector) RecountStats(t testing.TB, tenantID string) engram.DocumentStats {
	t.Helper()
	st, err := in.s.Reader().DocumentRecount(context.Background(), tenantID)
	if err != nil {
		t.Fatalf("recount: %v", err)
	}
	return st
}

func (in inspector) RecountGapStats(t testing.TB, tenantID string) engram.GapStats {
	t.Helper()
	st, err := in.s.Reader().GapRecount(context.Background(), tenantID)
	if err != nil {
		t.Fatalf("recount gaps: %v", err)
	}
	return st
}
