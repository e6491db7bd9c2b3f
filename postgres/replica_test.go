package postgres_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/postgres"
	"github.com/jackc/pgx/v5"
)

// replicaURL is the streaming replica of TEST_DATABASE_URL's server that
// .ci/replica starts, from TEST_REPLICA_URL.
func replicaURL(t *testing.T) (base, replica string) {
	t.Helper()
	base, ok := testdb.PostgresURL(t)
	if !ok {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	replica = os.Getenv("TEST_REPLICA_URL")
	if replica == "" {
		t.Skip("TEST_REPLICA_URL is not set (.ci/replica starts a replica)")
	}
	return base, replica
}

// titles lists the titles of the tenant's documents as a read with ctx
// sees them.
func titles(t *testing.T, ctx context.Context, s engram.Store, tenant string) map[string]bool {
	t.Helper()
	page, err := s.ListDocuments(ctx, tenant, engram.DocumentFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, d := range page.Documents {
		out[d.Title] = true
	}
	return out
}

// create writes one document and returns the WAL position of its commit.
func create(t *testing.T, s engram.Store, tenant, title string) engram.WALPosition {
	t.Helper()
	ctx, stats := engram.WithQueryStats(context.Background())
	docs, err := engram.PrepareDocuments([]engram.NewDocument{{Title: title, Content: "replica test"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDocuments(ctx, tenant, docs); err != nil {
		t.Fatal(err)
	}
	if stats.Commit() == 0 {
		t.Fatal("the commit reported no WAL position")
	}
	return stats.Commit()
}

// TestReadReplica runs reads against a real streaming replica whose
// replay the test pauses: a read allowed on the replica is served there
// (it does not see a write the replica has not replayed), a read that
// must see a write goes to the primary until the replica has it, and
// reads not allowed on the replica always see everything.
func TestReadReplica(t *testing.T) {
	base, replicaBase := replicaURL(t)
	ctx := context.Background()
	s := testdb.OpenPostgresWithReplica(t, base, replicaBase, postgres.Options{MaxConns: 4, ReadMaxLag: time.Hour})
	tn, _, err := s.CreateTenant(ctx, "Replica", "replica")
	if err != nil {
		t.Fatal(err)
	}
	first := create(t, s, tn.ID, "first")

	// Wait until the replica shows the first document to a read that must
	// see it: the replica has replayed it, or the primary answered.
	if got := titles(t, engram.WithReplicaReads(ctx, first), s, tn.ID); !got["first"] {
		t.Fatalf("a read that must see the first write sees %v", got)
	}
	admin, err := pgx.Connect(ctx, replicaBase)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	waitReplay := func(at engram.WALPosition) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
			var lsn string
			if err := admin.QueryRow(ctx, `SELECT pg_last_wal_replay_lsn()::text`).Scan(&lsn); err != nil {
				t.Fatal(err)
			}
			if p, err := engram.ParseWALPosition(lsn); err == nil && p >= at {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the replica has not replayed %s in a minute (at %s)", at, lsn)
			}
		}
	}
	waitReplay(first)
	time.Sleep(300 * time.Millisecond) // a poll of the store sees it too

	if _, err := admin.Exec(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			if _, err := admin.Exec(context.Background(), `SELECT pg_wal_replay_resume()`); err != nil {
				t.Error(err)
			}
		}
	}
	defer resume()
	second := create(t, s, tn.ID, "second")

	if got := titles(t, engram.WithReplicaReads(ctx, 0), s, tn.ID); !got["first"] || got["second"] {
		t.Errorf("a read allowed on the paused replica sees %v, want first and not yet second: it was not served by the replica", got)
	}
	if got := titles(t, engram.WithReplicaReads(ctx, second), s, tn.ID); !got["second"] {
		t.Errorf("a read that must see the second write sees %v: it read the replica that has not replayed it", got)
	}
	if got := titles(t, ctx, s, tn.ID); !got["second"] {
		t.Errorf("a read not allowed on the replica sees %v", got)
	}
	resume()
	waitReplay(second)
}

// TestReadReplicaDown: with a replica that does not answer, every read
// goes to the primary, without an error.
func TestReadReplicaDown(t *testing.T) {
	t.Parallel()
	base, ok := testdb.PostgresURL(t)
	if !ok {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	ctx := context.Background()
	s := testdb.OpenPostgresWithReplica(t, base, "postgres://postgres@127.0.0.1:1/", postgres.Options{MaxConns: 4})
	tn, _, err := s.CreateTenant(ctx, "Lonely", "lonely")
	if err != nil {
		t.Fatal(err)
	}
	at := create(t, s, tn.ID, "only")
	for _, min := range []engram.WALPosition{0, at} {
		if got := titles(t, engram.WithReplicaReads(ctx, min), s, tn.ID); !got["only"] {
			t.Errorf("with the replica down, a read (min %s) sees %v", min, got)
		}
	}
}
