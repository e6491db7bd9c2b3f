package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
			base, stop := startServer(t, db)
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
				`"status":"succeeded"`, `"kind":"delete_all"`, `"gap_status":"verified"`, `"gaps_created":0`, `"total_gaps":`} {
				if !strings.Contains(text, want) {
					t.Fatalf("walk-through output lacks %s:\n%s", want, text)
				}
			}
			if strings.Contains(text, `"success":false`) {
				t.Fatalf("a walk-through request failed:\n%s", text)
			}
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

// startServer runs `engram serve` on db and returns its base URL and a stop
// function that sends SIGTERM and waits.
func startServer(t *testing.T, db string) (string, func()) {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--db", db, "--log-format", "json",
		"--admin-key-file", filepath.Join(t.TempDir(), "admin-key"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	base := ""
	deadline := time.Now().Add(60 * time.Second)
	for base == "" && time.Now().Before(deadline) && sc.Scan() {
		if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		cmd.Process.Kill()
		t.Fatal("serve printed no URL")
	}
	go io.Copy(io.Discard, stderr)
	return base, func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
		}
	}
}
