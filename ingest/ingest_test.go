package ingest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector/folder"
	"github.com/engram-kb/engram/connector/mail"
	"github.com/engram-kb/engram/ingest"
	"github.com/engram-kb/engram/internal/testdb"
)

func corpusDir(t *testing.T) string {
	dir := os.Getenv("ENGRAM_SPAMASSASSIN_DIR")
	if dir == "" {
		dir = "../../shared/data/spamassassin"
	}
	abs, _ := filepath.Abs(dir)
	if _, err := os.Stat(abs); err != nil {
		t.Skipf("the SpamAssassin corpus is not at %s", abs)
	}
	return abs
}

// TestMailCorpusSync syncs the 3,250 real messages twice, then hard-deletes
// 100 of them and syncs again: the second run creates nothing, and the
// deleted ones stay deleted.
func TestMailCorpusSync(t *testing.T) {
	t.Parallel()
	dir := corpusDir(t)
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		ctx := context.Background()
		tn, key, err := s.CreateTenant(ctx, "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		settings, _ := json.Marshal(map[string]string{"path": dir})
		ms, err := mail.ParseSettings(settings)
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.CreateConnector(ctx, tn.ID, key.ID, "mail", "corpus", settings, 0)
		if err != nil {
			t.Fatal(err)
		}
		first, err := ingest.Run(ctx, s, tn.ID, c.ID, mail.New(ms), ingest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("first sync: %+v in %d batches", first.SyncCounts, first.Batches)
		for _, f := range first.Failures {
			if f.Reason == "" {
				t.Fatalf("failure without a reason: %+v", f)
			}
		}
		// 3,250 messages; the corpus folder also holds LICENSE and NOTICE,
		// which are not mail and fail with a reason.
		if first.Created+first.Failed != 3252 || first.Created < 3240 {
			t.Fatalf("first sync created %d, failed %d; want 3,252 files in all", first.Created, first.Failed)
		}
		second, err := ingest.Run(ctx, s, tn.ID, c.ID, mail.New(ms), ingest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if second.Created != 0 || second.Unchanged != first.Created {
			t.Fatalf("second sync = %+v, want 0 created and %d unchanged", second.SyncCounts, first.Created)
		}
		page, err := s.ListDocuments(ctx, tn.ID, engram.DocumentFilter{Sort: engram.SortCreatedAt, Limit: 100, ConnectorID: &c.ID})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(page.Documents))
		for i, d := range page.Documents {
			ids[i] = d.ID
		}
		if r, err := s.DeleteDocuments(ctx, tn.ID, key.ID, ids, true); err != nil || r.Tombstoned != 100 {
			t.Fatalf("hard delete = %+v, %v", r, err)
		}
		third, err := ingest.Run(ctx, s, tn.ID, c.ID, mail.New(ms), ingest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if third.Created != 0 || third.SkippedTombstoned != 100 || third.Unchanged != first.Created-100 {
			t.Fatalf("sync after deleting 100 = %+v", third.SyncCounts)
		}
		st, _ := s.DocumentStats(ctx, tn.ID)
		if st.Total != first.Created-100 {
			t.Fatalf("documents after the third sync = %d, want %d", st.Total, first.Created-100)
		}
	})
}

// TestFolderVaultSync syncs a small vault with nested folders and front
// matter, then edits, renames and adds notes.
func TestFolderVaultSync(t *testing.T) {
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
		write("Projects/Atlas/Decisions.md", "---\ntags: [atlas, decision]\nowner: ann\n---\n# Atlas decisions\n\nWe chose PostgreSQL.\n")
		write("Daily/2025-01-02.md", "Standup notes without a heading.\n")
		write("readme.txt", "Plain text note.\n")
		write(".obsidian/workspace.json", "{}")
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
		run := func() ingest.Report {
			rep, err := ingest.Run(ctx, s, tn.ID, c.ID, folder.New(fs), ingest.Options{Batch: 2})
			if err != nil {
				t.Fatal(err)
			}
			return rep
		}
		if rep := run(); rep.Created != 3 || rep.Failed != 0 {
			t.Fatalf("first sync = %+v", rep)
		}
		page, _ := s.ListDocuments(ctx, tn.ID, engram.DocumentFilter{Sort: engram.SortTitle, Limit: 10})
		titles := map[string]engram.Document{}
		for _, d := range page.Documents {
			titles[d.Title] = d
		}
		dec, ok := titles["Atlas decisions"]
		if !ok || *dec.ExternalID != "Projects/Atlas/Decisions.md" || dec.SourceUpdatedAt == nil {
			t.Fatalf("documents by title = %v", titles)
		}
		full, _ := s.GetDocument(ctx, tn.ID, dec.ID, false)
		var meta map[string]any
		_ = json.Unmarshal(full.Metadata, &meta)
		if fm, _ := meta["front_matter"].(map[string]any); fm["owner"] != "ann" {
			t.Fatalf("front matter not in metadata: %s", full.Metadata)
		}
		if _, ok := titles["2025-01-02"]; !ok {
			t.Fatalf("a note without a heading is titled by its file name: %v", titles)
		}
		// Edit one, rename one, add one.
		write("Projects/Atlas/Decisions.md", "---\ntags: [atlas]\n---\n# Atlas decisions\n\nWe chose PostgreSQL, for its JSON support.\n")
		if err := os.MkdirAll(filepath.Join(root, "Archive"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(root, "readme.txt"), filepath.Join(root, "Archive", "readme.txt")); err != nil {
			t.Fatal(err)
		}
		write("Projects/Atlas/Risks.md", "# Risks\n\nTBD.\n")
		rep := run()
		if rep.Updated != 1 || rep.Created != 2 || rep.Unchanged != 1 {
			t.Fatalf("sync after edit, rename and add = %+v", rep.SyncCounts)
		}
		after, _ := s.GetDocument(ctx, tn.ID, dec.ID, false)
		if after.Content == nil || !strings.Contains(*after.Content, "for its JSON support") || after.Status != engram.StatusPending {
			t.Fatalf("edited note content = %v", after.Content)
		}
	})
}

// TestImpossibleDateKeepsTheMessage: a Maildir of three good messages and
// one dated "1 Jan 0000" (a year PostgreSQL cannot store) imports all
// four, on both engines, in one batch: the bad date is left out of its
// document and reported as a warning, not a failure.
func TestImpossibleDateKeepsTheMessage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	msgs := map[string]string{
		"1:2,S": "From: a@example.com\nDate: Mon, 03 Jun 2024 10:00:00 +0000\nSubject: one\nMessage-ID: <1@example.com>\n\nfirst\n",
		"2:2,S": "From: b@example.com\nDate: Sat, 01 Jan 0000 00:00:00 +0000\nSubject: year zero\nMessage-ID: <2@example.com>\n\nsecond\n",
		"3:2,S": "From: c@example.com\nDate: Tue, 04 Jun 2024 10:00:00 +0000\nSubject: three\nMessage-ID: <3@example.com>\n\nthird\n",
		"4:2,S": "From: d@example.com\nDate: Wed, 05 Jun 2024 10:00:00 +0000\nSubject: four\nMessage-ID: <4@example.com>\n\nfourth\n",
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range msgs {
		if err := os.WriteFile(filepath.Join(dir, "cur", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		ctx := context.Background()
		tn, key, err := s.CreateTenant(ctx, "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.CreateConnector(ctx, tn.ID, key.ID, "mail", "inbox", json.RawMessage(`{}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		settings, _ := json.Marshal(map[string]string{"path": dir})
		ms, err := mail.ParseSettings(settings)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := ingest.Run(ctx, s, tn.ID, c.ID, mail.New(ms), ingest.Options{})
		if err != nil {
			t.Fatalf("sync: %v", err)
		}
		if rep.Created != 4 || rep.Failed != 0 || rep.Warned != 1 || len(rep.Warnings) != 1 {
			t.Fatalf("report = %+v", rep)
		}
		if w := rep.Warnings[0]; !w.Kept || !strings.Contains(w.Reason, "source_created_at: year 0 is out of range") {
			t.Errorf("warning = %+v", w)
		}
		page, err := s.ListDocuments(ctx, tn.ID, engram.DocumentFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		dated := 0
		for _, d := range page.Documents {
			if d.SourceCreatedAt != nil {
				dated++
			}
			if d.Title == "year zero" && d.SourceCreatedAt != nil {
				t.Errorf("the year-0 message kept its date %v", d.SourceCreatedAt)
			}
		}
		if len(page.Documents) != 4 || dated != 3 {
			t.Errorf("documents = %d (%d dated), want 4 (3 dated)", len(page.Documents), dated)
		}
	})
}
