package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/embedtest"
)

// The embedding kill test: a real `engram serve` embeds a tenant's
// existing chunks (the backfill) through an embeddings server that
// answers with a hashing embedder (embedtest; no semantic claim). It is
// killed with SIGKILL while a request is in flight; the restarted one's
// River rescues the job, which goes on from the committed batches. In
// the end every chunk has its vector, and the server answered each
// chunk's text exactly once: the batch in flight at the kill was never
// answered, and no committed batch was sent again.
func TestEmbeddingSurvivesKill(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills a server; skipped with -short")
	}
	const docs, dims = 300, 32
	for engine, db := range databases(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			if out, errOut, err := runEngram(t, "migrate", "up", "--db", db); err != nil {
				t.Fatalf("migrate up: %v\n%s%s", err, out, errOut)
			}
			ctx := context.Background()
			d := dbFlags{url: db, maxConns: 2}
			st, err := d.open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			tn, _, err := st.CreateTenant(ctx, "Acme", "acme")
			if err != nil {
				t.Fatal(err)
			}
			var nd []engram.NewDocument
			for i := range docs {
				nd = append(nd, engram.NewDocument{Title: fmt.Sprintf("Note %d", i), Content: fmt.Sprintf("Note number %d about the harbour.", i)})
			}
			prepared, err := engram.PrepareDocuments(nd)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.CreateDocuments(ctx, tn.ID, prepared); err != nil {
				t.Fatal(err)
			}
			srv := embedtest.New(dims)
			defer srv.Close()
			srv.Delay = 30 * time.Millisecond
			srv.SetFault(embedtest.Slow)
			e, err := embedFlags{url: srv.URL, model: embedtest.Model, dims: dims, batch: 10}.embedder()
			if err != nil {
				t.Fatal(err)
			}
			flags := []string{"--embed-url", srv.URL, "--embed-model", embedtest.Model, "--embed-dimensions", fmt.Sprint(dims),
				"--embed-batch", "10", "--embed-every", "1s"}
			status := func() engram.EmbedStatus {
				s, err := st.EmbedStatus(ctx, tn.ID, e)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}

			serve := startServe(t, db, flags...)
			defer func() { serve.cmd.Process.Kill() }()
			deadline := time.Now().Add(time.Minute)
			for status().Embedded < docs/3 {
				if time.Now().After(deadline) {
					t.Fatalf("embedding did not start within a minute:\n%s", serve.log())
				}
				time.Sleep(10 * time.Millisecond)
			}
			// The next request hangs: the batch before it is committed
			// (a batch writes before the next one reads), this one never
			// will be.
			sent := srv.Requests()
			srv.SetFault(embedtest.Hang)
			for srv.Requests() == sent {
				time.Sleep(5 * time.Millisecond)
			}
			killedAt := status().Embedded
			serve.kill(t)
			srv.SetFault(embedtest.None)
			if got := status().Embedded; got != killedAt || got >= docs {
				t.Fatalf("embedded %d at the kill, %d after; want the same and below %d", killedAt, got, docs)
			}

			killed := time.Now()
			serve = startServe(t, db, flags...)
			deadline = time.Now().Add(time.Minute)
			for status().Embedded < docs {
				if time.Now().After(deadline) {
					t.Fatalf("embedding did not finish within a minute of the restart (%+v):\n%s", status(), serve.log())
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("%s: killed at %d of %d embedded; finished %v after the restart", engine, killedAt, docs, time.Since(killed).Round(time.Millisecond))
			answered := srv.Answered()
			for _, c := range prepared {
				if n := answered[c.Chunks[0].Content]; n != 1 {
					t.Fatalf("chunk %q was answered %d times, want once", c.Chunks[0].Content, n)
				}
			}
			if len(answered) != docs {
				t.Fatalf("the server answered %d texts, want %d", len(answered), docs)
			}
			serve.cmd.Process.Kill()
			<-serve.done
		})
	}
}

// TestEmbeddingFaults runs `engram serve` against an embeddings server
// that fails in each way the issue names: every failure is a retried
// embed job with a clear message in the log, a search meanwhile answers
// by its words (mode lexical), and once the server answers again every
// chunk is embedded and a hybrid search ranks by both.
func TestEmbeddingFaults(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs a server through provider faults; skipped with -short")
	}
	const dims = 16
	for engine, db := range databases(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			if out, errOut, err := runEngram(t, "migrate", "up", "--db", db); err != nil {
				t.Fatalf("migrate up: %v\n%s%s", err, out, errOut)
			}
			ctx := context.Background()
			d := dbFlags{url: db, maxConns: 2}
			st, err := d.open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			tn, key, err := st.CreateTenant(ctx, "Acme", "acme")
			if err != nil {
				t.Fatal(err)
			}
			prepared, err := engram.PrepareDocuments([]engram.NewDocument{
				{Title: "Harbour log", Content: "The harbour tide was calm at dawn."},
				{Title: "Lunch", Content: "Soup and bread."},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.CreateDocuments(ctx, tn.ID, prepared); err != nil {
				t.Fatal(err)
			}
			srv := embedtest.New(dims)
			defer srv.Close()
			e, err := embedFlags{url: srv.URL, model: embedtest.Model, dims: dims, batch: 10}.embedder()
			if err != nil {
				t.Fatal(err)
			}
			srv.SetFault(embedtest.ServerError)
			serve := startServe(t, db, "--embed-url", srv.URL, "--embed-model", embedtest.Model, "--embed-dimensions", fmt.Sprint(dims),
				"--embed-every", "1s", "--embed-timeout", "300ms")
			defer func() { serve.cmd.Process.Kill() }()
			for _, f := range []struct {
				fault embedtest.Fault
				log   string
			}{
				{embedtest.ServerError, "HTTP 500"},
				{embedtest.RateLimit, "HTTP 429"},
				{embedtest.Hang, "no answer within 300ms"},
				{embedtest.WrongDimensions, "gave 15 dimensions, configured 16"},
				{embedtest.Malformed, "the answer is not the API's JSON"},
			} {
				since := len(serve.log())
				srv.SetFault(f.fault)
				deadline := time.Now().Add(time.Minute)
				for !strings.Contains(serve.log()[since:], f.log) {
					if time.Now().After(deadline) {
						t.Fatalf("%s: no failed embed batch saying %q within a minute:\n%s", f.fault, f.log, serve.log())
					}
					time.Sleep(20 * time.Millisecond)
				}
				code, m := call(t, "GET", serve.base+"/api/search?q=harbour+tide", key.Secret, "")
				if code != 200 || m["mode"] != "lexical" || len(m["results"].([]any)) != 1 {
					t.Fatalf("%s: search while embedding fails = %d %v", f.fault, code, m)
				}
				if s, _ := st.EmbedStatus(ctx, tn.ID, e); s.Embedded != 0 {
					t.Fatalf("%s: a failed batch stored vectors: %+v", f.fault, s)
				}
			}
			srv.SetFault(embedtest.None)
			deadline := time.Now().Add(time.Minute)
			for {
				s, err := st.EmbedStatus(ctx, tn.ID, e)
				if err != nil {
					t.Fatal(err)
				}
				if s.Embedded == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("not embedded within a minute of the server's recovery: %+v\n%s", s, serve.log())
				}
				time.Sleep(50 * time.Millisecond)
			}
			code, m := call(t, "GET", serve.base+"/api/search?q=harbour+tide", key.Secret, "")
			res, _ := m["results"].([]any)
			if code != 200 || m["mode"] != "hybrid" || len(res) == 0 {
				t.Fatalf("hybrid search = %d %v", code, m)
			}
			ranks := res[0].(map[string]any)["ranks"].(map[string]any)
			if ranks["lexical"] != float64(1) || ranks["vector"] != float64(1) {
				t.Fatalf("the harbour log's ranks = %v", ranks)
			}
			code, m = call(t, "GET", serve.base+"/api/search?q=harbour&mode=vector", key.Secret, "")
			if code != 200 || m["mode"] != "vector" {
				t.Fatalf("vector search = %d %v", code, m)
			}
			if strings.Contains(serve.log(), srv.URL+"/v1/embeddings: HTTP") && strings.Contains(serve.log(), "egm_") {
				t.Fatal("the log holds a key")
			}
		})
	}
}
