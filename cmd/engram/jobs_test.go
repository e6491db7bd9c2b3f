package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// The delete-all kill test: a real `engram serve` is killed with SIGKILL
// at several points of a hard delete-all over 50,000 documents, and
// stopped once with SIGTERM; each time it is started again, and in the end
// the counts must be exact.

const (
	killTargets       = 50000
	killFromConnector = 5000 // every tenth target came from a connector
	killOther         = 1000 // the other tenant's documents
	killLater         = 10   // created after the request: must survive
)

var listenLine = regexp.MustCompile(`"msg":"engram listening".*"url":"(http://127\.0\.0\.1:\d+)"`)

// server is a running `engram serve` child process.
type server struct {
	cmd  *exec.Cmd
	base string
	done chan error
	mu   sync.Mutex
	logs strings.Builder
}

// startServe starts `engram serve` on db with job settings that make a
// killed job resume within seconds.
func startServe(t *testing.T, db string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--log-format", "json",
		"--admin-key-file", filepath.Join(t.TempDir(), "admin-key"),
		"--workers", "2", "--job-rescue-after", "3s", "--shutdown-timeout", "20s", "--pg-max-conns", "6"}, extra...)
	cmd := exec.Command(binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.logs.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
		s.done <- cmd.Wait()
	}()
	select {
	case s.base = <-urls:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("serve did not start:\n%s", s.log())
	}
	return s
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// kill ends the process with SIGKILL: no batch finishes, nothing is
// flushed, River's job stays "running" until the rescuer sees it.
func (s *server) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.done
}

// call sends one request and decodes the JSON answer.
func call(t *testing.T, method, url, key, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode, m
}

// jobState reads the job through the API.
func jobState(t *testing.T, s *server, key, id string) (status string, done, total int, result map[string]any) {
	t.Helper()
	code, m := call(t, "GET", s.base+"/api/jobs/"+id, key, "")
	if code != 200 {
		t.Fatalf("GET job: %d %v\n%s", code, m, s.log())
	}
	j := m["job"].(map[string]any)
	p := j["progress"].(map[string]any)
	result, _ = j["result"].(map[string]any)
	return j["status"].(string), int(p["done"].(float64)), int(p["total"].(float64)), result
}

// waitProgress polls the job until it has done at least n documents. It
// fails if the job finishes first: the kill would test nothing.
func waitProgress(t *testing.T, s *server, key, id string, n int) int {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		status, done, _, _ := jobState(t, s, key, id)
		if done >= n {
			if status != "running" {
				t.Fatalf("job is %s at %d done; wanted to stop it while running", status, done)
			}
			return done
		}
		if status != "queued" && status != "running" {
			t.Fatalf("job is %s at %d done, before reaching %d", status, done, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("job did not reach %d done within 3 minutes:\n%s", n, s.log())
	return 0
}

func TestDeleteAllSurvivesKill(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills a server several times; skipped with -short")
	}
	for engine, db := range databases(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
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
			admin, acme, other := seed(t, st)
			t.Logf("%s: seeded %d documents in %v", engine, killTargets+killOther, time.Since(start).Round(time.Millisecond))
			before, err := st.TenantCounts(ctx, other)
			if err != nil {
				t.Fatal(err)
			}

			srv := startServe(t, db)
			defer func() { srv.cmd.Process.Kill() }()
			code, m := call(t, "DELETE", srv.base+"/api/documents/all?hard=true", admin, "")
			if code != 202 {
				t.Fatalf("delete-all: %d %v", code, m)
			}
			id := m["job_id"].(string)
			jobStart := time.Now()
			later := make([]string, killLater)
			for i := range later {
				later[i] = fmt.Sprintf(`{"title":"later %d","content":"created after the delete-all was asked for"}`, i)
			}
			if code, m := call(t, "POST", srv.base+"/api/documents", admin, `{"documents":[`+strings.Join(later, ",")+`]}`); code != 201 {
				t.Fatalf("create later documents: %d %v", code, m)
			}
			if code, m := call(t, "DELETE", srv.base+"/api/documents/all", admin, ""); code != 409 || m["job_id"] != id {
				t.Fatalf("second delete-all: %d %v", code, m)
			}

			// Stop the server at several points: after the first batch, about
			// the tenth and the thirtieth (SIGKILL), and once gracefully.
			for _, stop := range []struct {
				at   int
				kill bool
			}{{1000, true}, {10000, true}, {20000, false}, {30000, true}} {
				done := waitProgress(t, srv, admin, id, stop.at)
				at := time.Now()
				if stop.kill {
					srv.kill(t)
				} else {
					if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
						t.Fatal(err)
					}
					select {
					case err := <-srv.done:
						if err != nil {
							t.Fatalf("serve exited with %v after SIGTERM:\n%s", err, srv.log())
						}
					case <-time.After(25 * time.Second):
						t.Fatalf("serve did not stop within 25s of SIGTERM:\n%s", srv.log())
					}
				}
				srv = startServe(t, db)
				status, after, _, _ := jobState(t, srv, admin, id)
				if status != "running" || after < done {
					t.Fatalf("after restart the job is %s at %d done (was %d)", status, after, done)
				}
				// Progress resumes: the job moves on from where it stopped.
				deadline := time.Now().Add(90 * time.Second)
				for {
					if _, now, _, _ := jobState(t, srv, admin, id); now > after {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("job did not resume within 90s of restart:\n%s", srv.log())
					}
					time.Sleep(20 * time.Millisecond)
				}
				t.Logf("%s: stopped at %d done (kill %v), resumed %v after stopping", engine, done, stop.kill, time.Since(at).Round(time.Millisecond))
			}

			deadline := time.Now().Add(3 * time.Minute)
			var status string
			var done, total int
			var result map[string]any
			for {
				status, done, total, result = jobState(t, srv, admin, id)
				if status != "queued" && status != "running" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("job did not finish:\n%s", srv.log())
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("%s: job finished %v after it was asked for", engine, time.Since(jobStart).Round(time.Millisecond))
			if status != "succeeded" || done != killTargets || total != killTargets ||
				result["deleted"] != float64(killTargets) || result["tombstoned"] != float64(killFromConnector) || result["hard"] != true {
				t.Fatalf("job = %s %d/%d %v", status, done, total, result)
			}
			c, err := st.TenantCounts(ctx, acme)
			if err != nil {
				t.Fatal(err)
			}
			if c != (engram.TenantCounts{Documents: killLater, Chunks: killLater, Tombstones: killFromConnector}) {
				t.Fatalf("tenant after delete-all: %+v; want only the %d later documents and %d tombstones", c, killLater, killFromConnector)
			}
			after, err := st.TenantCounts(ctx, other)
			if err != nil || after != before {
				t.Fatalf("other tenant changed: %+v -> %+v (%v)", before, after, err)
			}
			srv.cmd.Process.Signal(syscall.SIGTERM)
			<-srv.done
		})
	}
}

// seed makes tenant acme with the targets (every tenth from a connector)
// and tenant other with its own documents, and returns an admin key of
// acme and the two tenant ids.
func seed(t *testing.T, st *store) (adminKey, acme, other string) {
	t.Helper()
	ctx := context.Background()
	a, key, err := st.CreateTenant(ctx, "Acme", "acme")
	if err != nil {
		t.Fatal(err)
	}
	o, _, err := st.CreateTenant(ctx, "Other", "other")
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range []struct {
		id    string
		count int
	}{{a.ID, killTargets}, {o.ID, killOther}} {
		c, err := st.CreateConnector(ctx, tn.id, "", "push", "import", json.RawMessage(`{}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		conn := c.ID
		for startAt := 0; startAt < tn.count; startAt += engram.MaxDocumentsPerCreate {
			docs := make([]engram.NewDocument, engram.MaxDocumentsPerCreate)
			for i := range docs {
				n := startAt + i
				docs[i] = engram.NewDocument{Title: fmt.Sprintf("doc %d", n), Content: "a short document"}
				if n%10 == 0 {
					ext := fmt.Sprintf("ext-%d", n)
					docs[i].ConnectorID, docs[i].ExternalID = &conn, &ext
				}
			}
			p, err := engram.PrepareDocuments(docs)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.CreateDocuments(ctx, tn.id, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	return key.Secret, a.ID, o.ID
}

// TestWorkerCommand runs the API with no workers and the jobs in a
// separate `engram worker` process.
func TestWorkerCommand(t *testing.T) {
	t.Parallel()
	for engine, db := range databases(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			if _, errOut, err := runEngram(t, "worker", "--db", db); err == nil || !strings.Contains(errOut, "migrate up") {
				t.Fatalf("worker on an unmigrated database: %v %s", err, errOut)
			}
			srv := startServe(t, db, "--workers", "0")
			defer func() { srv.cmd.Process.Kill() }()
			out, errOut, err := runEngram(t, "apikey", "create", "--tenant", "default", "--role", "admin", "--db", db)
			var key map[string]string
			if err != nil || json.Unmarshal([]byte(out), &key) != nil {
				t.Fatalf("apikey create: %v %s", err, errOut)
			}
			admin := key["api_key"]
			if code, m := call(t, "POST", srv.base+"/api/documents", admin, `{"documents":[{"title":"a","content":"x"},{"title":"b","content":"y"}]}`); code != 201 {
				t.Fatalf("create: %d %v", code, m)
			}
			code, m := call(t, "DELETE", srv.base+"/api/documents/all?hard=true", admin, "")
			if code != 202 {
				t.Fatalf("delete-all: %d %v", code, m)
			}
			id := m["job_id"].(string)
			time.Sleep(1500 * time.Millisecond)
			if status, _, _, _ := jobState(t, srv, admin, id); status != "queued" {
				t.Fatalf("with no workers the job is %s", status)
			}
			w := exec.Command(binary, "worker", "--db", db, "--workers", "1", "--log-format", "json")
			var wlog strings.Builder
			w.Stderr = &wlog
			if err := w.Start(); err != nil {
				t.Fatal(err)
			}
			defer w.Process.Kill()
			deadline := time.Now().Add(60 * time.Second)
			for {
				status, done, _, _ := jobState(t, srv, admin, id)
				if status == "succeeded" && done == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the worker did not run the job: %s %d\n%s", status, done, wlog.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			w.Process.Signal(syscall.SIGTERM)
			if err := w.Wait(); err != nil {
				t.Fatalf("worker exited with %v after SIGTERM:\n%s", err, wlog.String())
			}
		})
	}
}
