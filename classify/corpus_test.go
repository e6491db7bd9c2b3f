package classify_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/engram-kb/engram/classify/eval"
	"github.com/engram-kb/engram/internal/testdb"
)

// corpusDir finds the SpamAssassin public corpus: ham/ and spam/ folders
// of raw RFC 822 messages.
func corpusDir(t testing.TB) string {
	dir := os.Getenv("ENGRAM_SPAMASSASSIN_DIR")
	if dir == "" {
		// go test runs in the package directory.
		dir = filepath.Join("..", "..", "shared", "data", "spamassassin")
	}
	if _, err := os.Stat(filepath.Join(dir, "ham")); err != nil {
		t.Skipf("SpamAssassin corpus not found at %s (set ENGRAM_SPAMASSASSIN_DIR): %v", dir, err)
	}
	return dir
}

// TestCorpus measures classification on real mail by the production path
// (package classify/eval): the mail connector into a fresh tenant, a
// person deciding half of each class, a training, the classification of
// the rest. For CI it takes every third message of each folder (ham
// holds easy and hard ham), keeping the mix; `engram eval classify` runs
// the whole corpus (docs/CLASSIFICATION.md).
func TestCorpus(t *testing.T) {
	t.Parallel()
	dir := sample(t, corpusDir(t), 3)
	rep, err := eval.Run(context.Background(), testdb.OpenSQLite(t), eval.Options{Dataset: dir, TrainFraction: 0.5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep.Text())
	spam := rep.PerClass["spam"]
	if spam.F1 < minSpamF1 {
		t.Errorf("spam F1 %.3f, want at least %.2f", spam.F1, minSpamF1)
	}
	if rep.HamAsSpam > maxHamAsSpam {
		t.Errorf("ham called spam %.4f, want at most %.3f", rep.HamAsSpam, maxHamAsSpam)
	}
	if rep.Brier > maxBrier {
		t.Errorf("Brier score %.3f, want at most %.2f", rep.Brier, maxBrier)
	}
}

// sample copies every nth file of each class folder of dir into a new
// dataset folder.
func sample(t *testing.T, dir string, nth int) string {
	t.Helper()
	out := t.TempDir()
	for _, class := range []string{"ham", "spam"} {
		entries, err := os.ReadDir(filepath.Join(dir, class))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(out, class), 0o755); err != nil {
			t.Fatal(err)
		}
		for i, e := range entries {
			if i%nth != 0 || !e.Type().IsRegular() {
				continue
			}
			// Copied, not linked: a connector does not follow a link out
			// of its folder.
			b, err := os.ReadFile(filepath.Join(dir, class, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(out, class, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// Floors of TestCorpus, a little below what it measured on this third of
// the corpus (spam F1 0.894, ham called spam 1.31%, Brier 0.025; the run
// is deterministic): a change that makes classification noticeably worse
// fails. The whole corpus does better (docs/CLASSIFICATION.md): the model
// has three times the decisions to learn from.
const (
	minSpamF1    = 0.87
	maxHamAsSpam = 0.02
	maxBrier     = 0.035
)
