package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector/folder"
	"github.com/engram-kb/engram/ingest"
	"github.com/engram-kb/engram/internal/testdb"
)

// TestPausedFullSyncResumes: a full sync paused after every batch and
// resumed from the cursor of its last committed batch ends as one run
// would: every note created once, the unreadable one failed once, and the
// one document the folder no longer has archived, with nothing else (the
// run's notes of what it saw outlive the pauses).
func TestPausedFullSyncResumes(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		ctx := context.Background()
		root := t.TempDir()
		write := func(rel, text string) {
			p := filepath.Join(root, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 23 {
			write(fmt.Sprintf("d%d/note%02d.md", i%3, i), fmt.Sprintf("# Note %d\n", i))
		}
		write("d1/binary.md", "a\x00b")
		write("gone.md", "# Gone soon\n")
		tn, key, _ := s.CreateTenant(ctx, "Acme", "acme")
		settings, _ := json.Marshal(map[string]any{"path": root})
		fs, err := folder.ParseSettings(settings)
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.CreateConnector(ctx, tn.ID, key.ID, "folder", "vault", settings, 0)
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := ingest.Run(ctx, s, tn.ID, c.ID, folder.New(fs), ingest.Options{}); err != nil || rep.Created != 24 {
			t.Fatalf("first sync = %+v, %v", rep, err)
		}
		if err := os.Remove(filepath.Join(root, "gone.md")); err != nil {
			t.Fatal(err)
		}
		write("d2/new.md", "# New\n")

		run1, run2 := engram.NewID(), engram.NewID()
		// Each run commits one batch of 4 and pauses; the next starts from
		// what the last one committed, as a job's next execution does.
		var committed ingest.Report
		runs := 0
		for {
			runs++
			if runs > 20 {
				t.Fatal("the sync never finished")
			}
			rep, err := ingest.Run(ctx, s, tn.ID, c.ID, folder.New(fs), ingest.Options{
				Batch: 4, Full: true, RunID: run1, From: committed.Cursor, Start: committed,
				Pause:    func() bool { return true },
				Progress: func(r ingest.Report) { committed = r },
			})
			if errors.Is(err, ingest.ErrPaused) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Created != 1 || rep.Unchanged != 23 || rep.Failed != 1 || rep.MissingAtSource != 0 {
				t.Fatalf("resumed full sync = %+v after %d runs", rep.SyncCounts, runs)
			}
			break
		}
		if runs < 5 {
			t.Fatalf("the sync ran in %d runs; want one per batch", runs)
		}
		// The unreadable note is at the source: the run archives nothing.
		// A full sync without it archives only the note that is gone.
		if err := os.Remove(filepath.Join(root, "d1", "binary.md")); err != nil {
			t.Fatal(err)
		}
		committed = ingest.Report{}
		for {
			rep, err := ingest.Run(ctx, s, tn.ID, c.ID, folder.New(fs), ingest.Options{
				Batch: 4, Full: true, RunID: run2, From: committed.Cursor, Start: committed,
				Pause:    func() bool { return true },
				Progress: func(r ingest.Report) { committed = r },
			})
			if errors.Is(err, ingest.ErrPaused) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Unchanged != 24 || rep.Failed != 0 || rep.MissingAtSource != 1 {
				t.Fatalf("second resumed full sync = %+v", rep.SyncCounts)
			}
			break
		}
		page, err := s.ListDocuments(ctx, tn.ID, engram.DocumentFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		archived := 0
		for _, d := range page.Documents {
			if d.Status == engram.StatusArchived {
				archived++
				if d.Title != "Gone soon" {
					t.Errorf("archived %q", d.Title)
				}
			}
		}
		if archived != 1 {
			t.Errorf("%d documents archived, want 1", archived)
		}
	})
}
