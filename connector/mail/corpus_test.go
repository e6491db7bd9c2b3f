package mail

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// corpusDir finds the SpamAssassin corpus (ham/ and spam/ of raw messages),
// or skips the test.
func corpusDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("ENGRAM_SPAMASSASSIN_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data", "spamassassin")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ham")); err != nil {
		tb.Skipf("SpamAssassin corpus not found at %s (set ENGRAM_SPAMASSASSIN_DIR)", dir)
	}
	return dir
}

// readAll reads every item and failure of a mail source at dir.
func readAll(tb testing.TB, dir string) ([]engram.SourceItem, []engram.SourceFailure) {
	tb.Helper()
	raw, _ := json.Marshal(map[string]string{"path": dir})
	s, err := ParseSettings(raw)
	if err != nil {
		tb.Fatal(err)
	}
	var items []engram.SourceItem
	var fails []engram.SourceFailure
	err = New(s).Items(context.Background(), func(it engram.SourceItem) error {
		items = append(items, it)
		return nil
	}, func(f engram.SourceFailure) { fails = append(fails, f) })
	if err != nil {
		tb.Fatal(err)
	}
	return items, fails
}

// The whole corpus directory is read as one source: every regular file is
// a message (the corpus's LICENSE and NOTICE too, which fail as not mail).
func TestSpamAssassinCorpus(t *testing.T) {
	t.Parallel()
	dir := corpusDir(t)
	files, messages := 0, 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") {
			files++
			if b := filepath.Base(filepath.Dir(p)); b == "ham" || b == "spam" {
				messages++
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	items, fails := readAll(t, dir)
	elapsed := time.Since(start)
	if len(items)+len(fails) != files {
		t.Errorf("%d items + %d failures != %d files", len(items), len(fails), files)
	}
	reasons := map[string]int{}
	for _, f := range fails {
		if f.Ref == "" || f.Reason == "" {
			t.Errorf("failure without ref or reason: %+v", f)
		}
		reason, _, _ := strings.Cut(f.Reason, ":")
		reasons[reason]++
		t.Logf("failure %s: %s", f.Ref, f.Reason)
	}
	ids := make([]string, len(items))
	folders := map[string]int{}
	var noDate, noSender, noContent, hashIDs, duplicates int
	for i, it := range items {
		ids[i] = it.ExternalID
		checkItem(t, it)
		if it.SourceCreatedAt == nil {
			noDate++
		}
		if it.SenderEmail == "" {
			noSender++
		}
		if strings.TrimSpace(it.Content) == "" {
			noContent++
		}
		if strings.HasPrefix(it.ExternalID, "sha256:") {
			hashIDs++
		}
		var meta struct{ Folder string }
		if err := json.Unmarshal(it.Metadata, &meta); err != nil {
			t.Fatal(err)
		}
		folders[meta.Folder]++
	}
	for _, f := range fails {
		if strings.HasPrefix(f.Reason, "duplicate") {
			duplicates++
		}
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	if n := len(slices.Compact(sorted)); n != len(ids) {
		t.Errorf("%d external ids, %d distinct", len(ids), n)
	}
	t.Logf("%d files (%d messages in ham/ and spam/): %d items, %d failures in %v", files, messages, len(items), len(fails), elapsed)
	t.Logf("failures by reason: %v", reasons)
	t.Logf("items by folder: %v", folders)
	t.Logf("%d hash ids (no usable Message-ID), %d duplicates reported, %d without date, %d without sender e-mail, %d with empty text",
		hashIDs, duplicates, noDate, noSender, noContent)
	if folders["ham"]+folders["spam"] < messages*99/100 {
		t.Errorf("fewer than 99%% of the corpus's messages read")
	}

	again, _ := readAll(t, dir)
	for i := range again {
		if i >= len(ids) || again[i].ExternalID != ids[i] {
			t.Fatalf("second run differs at item %d", i)
		}
	}
	if len(again) != len(ids) {
		t.Errorf("second run: %d items, first %d", len(again), len(ids))
	}
}

func BenchmarkSpamAssassinCorpus(b *testing.B) {
	dir := corpusDir(b)
	var size int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			info, _ := d.Info()
			size += info.Size()
		}
		return nil
	})
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		items, _ := readAll(b, dir)
		b.ReportMetric(float64(len(items)), "items/op")
	}
}
