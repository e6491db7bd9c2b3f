package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/engram-kb/engram/internal/embedtest"
)

// TestEvalSearchWithEmbedder runs `engram eval search` in vector and
// hybrid mode on a small BEIR set, with an embeddings server answering by
// a hashing embedder (mechanics only: it makes no semantic claim), and
// `engram search --mode` on the same kind of server.
func TestEvalSearchWithEmbedder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var corpus, queries, qrels strings.Builder
	qrels.WriteString("query-id\tcorpus-id\tscore\n")
	topics := []string{"harbour tide boats", "billing platform migration", "soup bread dinner", "zeppelin hangar airship",
		"garden tomatoes watering", "kernel scheduler latency"}
	for i, tp := range topics {
		fmt.Fprintf(&corpus, `{"_id":"d%d","title":"Doc %d","text":"Notes on %s and more %s."}`+"\n", i, i, tp, tp)
		fmt.Fprintf(&queries, `{"_id":"q%d","text":"%s"}`+"\n", i, tp)
		fmt.Fprintf(&qrels, "q%d\td%d\t1\n", i, i)
	}
	os.MkdirAll(filepath.Join(dir, "qrels"), 0o755)
	os.WriteFile(filepath.Join(dir, "corpus.jsonl"), []byte(corpus.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "queries.jsonl"), []byte(queries.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "qrels", "test.tsv"), []byte(qrels.String()), 0o644)
	srv := embedtest.New(32)
	defer srv.Close()
	embed := []string{"--embed-url", srv.URL, "--embed-model", embedtest.Model, "--embed-dimensions", "32"}
	for _, mode := range []string{"vector", "hybrid"} {
		args := append([]string{"eval", "search", "--dataset", dir, "--mode", mode, "--json"}, embed...)
		out, errOut, err := runEngram(t, args...)
		if err != nil {
			t.Fatalf("eval search --mode %s: %v\n%s%s", mode, err, out, errOut)
		}
		var rep map[string]any
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("eval output %q: %v", out, err)
		}
		if rep["mode"] != mode || rep["queries"] != float64(len(topics)) || rep["ndcg@10"].(float64) < 0.9 || rep["embed_seconds"] == nil {
			t.Fatalf("eval search --mode %s = %v", mode, rep)
		}
	}
	if _, errOut, err := runEngram(t, "eval", "search", "--dataset", dir, "--mode", "vector"); err == nil || !strings.Contains(errOut+fmt.Sprint(err), "needs an embedding model") {
		t.Fatalf("vector eval without an embedder: %v %s", err, errOut)
	}

	db := "sqlite:" + filepath.Join(t.TempDir(), "e.db")
	if out, errOut, err := runEngram(t, "migrate", "up", "--db", db); err != nil {
		t.Fatalf("migrate: %v %s%s", err, out, errOut)
	}
	if out, errOut, err := runEngram(t, "tenant", "create", "--name", "Acme", "--slug", "acme", "--db", db); err != nil {
		t.Fatalf("tenant: %v %s%s", err, out, errOut)
	}
	for _, c := range []struct {
		args []string
		mode string
	}{
		{nil, "lexical"},
		{embed, "hybrid"},
		{append([]string{"--mode", "vector"}, embed...), "vector"},
	} {
		args := append([]string{"search", "harbour", "--tenant", "acme", "--db", db, "--json"}, c.args...)
		out, errOut, err := runEngram(t, args...)
		if err != nil || !strings.Contains(out, `"mode": "`+c.mode+`"`) && !strings.Contains(out, `"mode":"`+c.mode+`"`) {
			t.Fatalf("search %v: %v\n%s%s", c.args, err, out, errOut)
		}
	}
}
