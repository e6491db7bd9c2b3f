package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/engram-kb/engram/internal/testdb"
)

// These tests build the real binary and drive it as an operator would.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "engram-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "engram")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build engram: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// databases returns a fresh database URL per engine.
func databases(t *testing.T) map[string]string {
	dbs := map[string]string{"sqlite": "sqlite:" + filepath.Join(t.TempDir(), "engram.db")}
	if _, ok := testdb.PostgresURL(t); ok {
		dbs["postgres"] = testdb.NewDatabase(t)
	}
	return dbs
}

func runEngram(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

var keyLine = regexp.MustCompile(`ENGRAM_KEY=(egm_[a-z0-9]+)`)
var urlLine = regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/api/documents`)

func TestServeFirstRunAndShutdown(t *testing.T) {
	t.Parallel()
	for engine, db := range databases(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			metricsAddr := freeAddr(t)
			cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--db", db, "--log-format", "json", "--log-statements",
				"--metrics-addr", metricsAddr)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			var key, base string
			sc := bufio.NewScanner(stderr)
			deadline := time.Now().Add(60 * time.Second)
			for (key == "" || base == "") && time.Now().Before(deadline) && sc.Scan() {
				if m := keyLine.FindStringSubmatch(sc.Text()); m != nil {
					key = m[1]
				}
				if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
					base = m[1]
				}
			}
			if key == "" || base == "" {
				t.Fatalf("serve did not print the first-run key and URL")
			}
			// The rest of the log, read until serve exits.
			logs := make(chan string, 1)
			go func() {
				var b strings.Builder
				for sc.Scan() {
					b.WriteString(sc.Text() + "\n")
				}
				logs <- b.String()
			}()

			resp, err := http.Get(base + "/api/health")
			if err != nil {
				t.Fatal(err)
			}
			var health map[string]any
			json.NewDecoder(resp.Body).Decode(&health)
			resp.Body.Close()
			if health["success"] != true || health["database"] != engine {
				t.Fatalf("health = %v", health)
			}
			// The metrics need no key, so they are never on the API's port,
			// only on --metrics-addr.
			for _, c := range []struct {
				url  string
				want int
			}{{base + "/metrics", http.StatusNotFound}, {"http://" + metricsAddr + "/metrics", http.StatusOK}} {
				resp, err := http.Get(c.url)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != c.want {
					t.Fatalf("GET %s: status %d, want %d", c.url, resp.StatusCode, c.want)
				}
			}
			body := strings.NewReader(`{"documents":[{"title":"Runbook","content":"Restart the worker."}]}`)
			req, _ := http.NewRequest("POST", base+"/api/documents", body)
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 201 {
				t.Fatalf("create document: status %d", resp.StatusCode)
			}
			if !strings.Contains(resp.Header.Get("Server-Timing"), "statements") {
				t.Fatalf("Server-Timing = %q", resp.Header.Get("Server-Timing"))
			}

			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			var log string
			select {
			case log = <-logs:
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not stop within 30s of SIGTERM")
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("serve exited with %v after SIGTERM", err)
			}
			// --log-statements: every statement with its operation, duration
			// and rows, never its parameters.
			if !regexp.MustCompile(`"msg":"statement","op":"documents.create","duration_ms":[0-9.]+,"request_id":"[^"]+","failed":false,"rows":1\b`).MatchString(log) {
				t.Errorf("no statement line for documents.create with its rows in:\n%s", log)
			}
			if strings.Contains(log, "Restart the worker") || strings.Contains(log, "Runbook") {
				t.Errorf("the log shows a statement's parameters:\n%s", log)
			}

			// A second start finds the tenant and prints no new key.
			out, errOut, err := runEngram(t, "migrate", "status", "--db", db)
			if err != nil || !strings.Contains(out, "00002_indexes.sql") || strings.Contains(out, " pending\n") {
				t.Fatalf("migrate status: %v\n%s%s", err, out, errOut)
			}
		})
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestAdminCommands(t *testing.T) {
	t.Parallel()
	for engine, db := range databases(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			if _, errOut, err := runEngram(t, "tenant", "create", "--name", "Acme", "--db", db); err == nil || !strings.Contains(errOut, "migrate up") {
				t.Fatalf("tenant create on an unmigrated database: %v %s", err, errOut)
			}
			if out, errOut, err := runEngram(t, "migrate", "up", "--db", db); err != nil || !strings.Contains(out, "applied 00001_init.sql") {
				t.Fatalf("migrate up: %v\n%s%s", err, out, errOut)
			}
			out, errOut, err := runEngram(t, "tenant", "create", "--name", "Acme Corp", "--db", db)
			if err != nil {
				t.Fatalf("tenant create: %v %s", err, errOut)
			}
			var tenant map[string]string
			if err := json.Unmarshal([]byte(out), &tenant); err != nil || tenant["slug"] != "acme-corp" ||
				!strings.HasPrefix(tenant["api_key"], "egm_") || len(tenant["tenant_id"]) != 36 {
				t.Fatalf("tenant create printed %q (%v)", out, err)
			}
			if _, errOut, err := runEngram(t, "tenant", "create", "--name", "Acme Corp", "--db", db); err == nil || !strings.Contains(errOut, "already exists") {
				t.Fatalf("duplicate tenant: %v %s", err, errOut)
			}
			out, errOut, err = runEngram(t, "apikey", "create", "--tenant", "acme-corp", "--role", "viewer", "--name", "dash", "--db", db)
			var key map[string]string
			if err != nil || json.Unmarshal([]byte(out), &key) != nil || key["role"] != "viewer" || !strings.HasPrefix(key["api_key"], "egm_") {
				t.Fatalf("apikey create: %v %q %s", err, out, errOut)
			}
			if _, errOut, err := runEngram(t, "apikey", "create", "--tenant", "acme-corp", "--role", "owner", "--db", db); err == nil || !strings.Contains(errOut, "role") {
				t.Fatalf("bad role: %v %s", err, errOut)
			}
			// engram's migrations and River's, one step at a time: River's
			// newest first.
			status, _, _ := runEngram(t, "migrate", "status", "--db", db)
			steps := strings.Count(status, " applied")
			if steps < 12 || !strings.Contains(status, "river_001_create_river_migration") {
				t.Fatalf("migrate status lists %d applied migrations:\n%s", steps, status)
			}
			for i := 0; i < steps; i++ {
				out, errOut, err := runEngram(t, "migrate", "down", "--db", db)
				if err != nil || !strings.Contains(out, "rolled back") {
					t.Fatalf("migrate down: %v\n%s%s", err, out, errOut)
				}
				if i == 0 && !strings.Contains(out, "river_") || i == steps-1 && !strings.Contains(out, "00001_init.sql") {
					t.Fatalf("step %d of migrate down rolled back %s", i, out)
				}
			}
			if out, _, _ := runEngram(t, "migrate", "status", "--db", db); strings.Contains(out, "applied") {
				t.Fatalf("status after rolling back everything:\n%s", out)
			}
			if _, _, err := runEngram(t, "migrate", "up", "--db", db); err != nil {
				t.Fatal(err)
			}
			if _, errOut, err := runEngram(t, "tenant", "create", "--name", "Again", "--db", db); err != nil {
				t.Fatalf("tenant create after down/up: %v %s", err, errOut)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--help"}, {"serve", "--help"}, {"migrate", "--help"}, {"tenant", "--help"},
		{"tenant", "create", "--help"}, {"apikey", "--help"}, {"apikey", "create", "--help"}, {"worker", "--help"},
	} {
		out, errOut, err := runEngram(t, args...)
		if err != nil || !strings.Contains(out+errOut, "Usage") {
			t.Fatalf("engram %v: %v\n%s%s", args, err, out, errOut)
		}
	}
	out, _, err := runEngram(t, "version")
	if err != nil || !strings.HasPrefix(out, "engram ") {
		t.Fatalf("version: %v %q", err, out)
	}
	if _, _, err := runEngram(t, "frobnicate"); err == nil {
		t.Fatal("an unknown command succeeded")
	}
	if _, errOut, err := runEngram(t, "serve", "--db", "mysql://x"); err == nil || !strings.Contains(errOut, "unknown scheme") {
		t.Fatalf("unknown scheme: %v %s", err, errOut)
	}
}
