package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestREADMEWalkthrough runs the shell blocks of README.md marked as the
// walk-through, pasted as they are, against a real server on each engine:
// the README's examples stay runnable.
func TestREADMEWalkthrough(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	script := walkthrough(string(readme))
	if !strings.Contains(script, "curl") {
		t.Fatal("README has no walk-through blocks")
	}
	root, _ := filepath.Abs("../..")
	for engine, db := range databases(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			base, logs, stop := startServer(t, db)
			defer stop()
			cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "DATABASE_URL="+db, "ENGRAM_URL="+base)
			out, err := cmd.CombinedOutput()
			text := string(out)
			if err != nil {
				t.Fatalf("walk-through failed: %v\n%s", err, text)
			}
			for _, want := range []string{`"status":"ok"`, `"created":3`, `"results":{`, `"confirmed":`, `"hard":true`, `"stats":{`,
				`"status":"succeeded"`, `"kind":"delete_all"`, `"gap_status":"verified"`, `"gaps_created":0`, `"total_gaps":`,
				`"tokens":{"access_token":"egs_`, `"email":"bob@example.com"`, `"role":"member"`, `"users":[`, "\n401\n",
				`"mode":"extractive"`, "event: done", `QA found a data-loss bug in the export. [1]`} {
				if !strings.Contains(text, want) {
					t.Fatalf("walk-through output lacks %s:\n%s", want, text)
				}
			}
			if strings.Contains(text, `"success":false`) {
				t.Fatalf("a walk-through request failed:\n%s", text)
			}
			stop()
			checkLogsHoldNoSecret(t, logs.String(), text)
		})
	}
}

// walkthrough joins the fenced blocks between walkthrough markers.
func walkthrough(readme string) string {
	var b strings.Builder
	in, fence := false, false
	for _, line := range strings.Split(readme, "\n") {
		switch {
		case strings.HasPrefix(line, "<!-- walkthrough:start -->"):
			in = true
		case strings.HasPrefix(line, "<!-- walkthrough:end -->"):
			in = false
		case in && strings.HasPrefix(line, "```"):
			fence = !fence
		case in && fence:
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// secretRe matches every kind of secret engram hands out: API keys,
// access, refresh and invitation tokens.
var secretRe = regexp.MustCompile(`eg[msri]_[a-z2-7]{20,}`)

// checkLogsHoldNoSecret fails when the server's logs of a run contain a
// secret that run handed out (found in its output) or a password it used.
func checkLogsHoldNoSecret(t *testing.T, logs, output string, passwords ...string) {
	t.Helper()
	if !strings.Contains(logs, `"msg":"request"`) && !strings.Contains(logs, `"path":`) {
		t.Fatalf("the server logged no requests; nothing to check:\n%s", logs)
	}
	secrets := secretRe.FindAllString(output, -1)
	if len(secrets) < 4 {
		t.Fatalf("the run handed out %d secrets, want at least 4", len(secrets))
	}
	for _, s := range append(secrets, passwords...) {
		if strings.Contains(logs, s) {
			t.Errorf("the server's log holds a secret (%s…)", s[:6])
		}
	}
	if m := secretRe.FindString(logs); m != "" {
		t.Errorf("the server's log holds something shaped like a secret (%s…)", m[:6])
	}
	for _, p := range []string{"password\":\"", "bob's long passphrase"} {
		if strings.Contains(logs, p) {
			t.Errorf("the server's log holds %q", p)
		}
	}
}

// lockedBuffer is a buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServer runs `engram serve --signup invite` on db, logging at debug
// level, and returns its base URL, its log so far, and a stop function
// that sends SIGTERM and waits (calling it twice is harmless).
func startServer(t *testing.T, db string) (string, *lockedBuffer, func()) {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--db", db, "--log-format", "json", "--log-level", "debug",
		"--signup", "invite", "--admin-key-file", filepath.Join(t.TempDir(), "admin-key"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	sc := bufio.NewScanner(stderr)
	base := ""
	deadline := time.Now().Add(60 * time.Second)
	for base == "" && time.Now().Before(deadline) && sc.Scan() {
		logs.Write(append(sc.Bytes(), '\n'))
		if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		cmd.Process.Kill()
		t.Fatal("serve printed no URL")
	}
	copied := make(chan struct{})
	go func() { io.Copy(logs, stderr); close(copied) }()
	var once sync.Once
	return base, logs, func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { <-copied; cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
			}
		})
	}
}
