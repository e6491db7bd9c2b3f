package bench

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMeasuresWhatItIsHanded keeps package bench a measuring library:
// cmd/engram alone picks the engine and wires River and the HTTP server,
// so neither those nor an engine may be among bench's dependencies.
func TestMeasuresWhatItIsHanded(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	const mod = "github.com/engram-kb/engram/"
	for _, dep := range strings.Fields(string(out)) {
		switch strings.TrimPrefix(dep, mod) {
		case "sqlite", "postgres", "service", "jobs", "http", "bench/pgref", "bench/sqliteref":
			t.Errorf("package bench depends on %s", dep)
		}
	}
}
