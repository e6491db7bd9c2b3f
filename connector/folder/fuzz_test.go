package folder

import (
	"strings"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// FuzzSplitFrontMatter checks the front matter splitter on any text: it
// never panics, cuts off only a block that opens with a "---" line, and
// the note made of the text is an item the store accepts (the date may
// be dropped, never the note).
func FuzzSplitFrontMatter(f *testing.F) {
	for _, s := range []string{
		"---\ntitle: Plan\ntags: [a, b]\n---\n# Body\n",
		"---\r\ntitle: x\r\n...\r\nbody",
		"---\n- a list\n---\ntext",
		"---\n: bad yaml [\n---\ntext",
		"---\nno closing line\n",
		"--- \n\n---\n",
		"---\nwhen: 2024-05-01\nn: .nan\nbig: 123456789012345678901234567890\nbin: !!binary aGVsbG8=\n? [1, 2]\n: complex key\n---\n",
		"---\na: &x [1, *x]\n---\n",
		"---\na: {b: {c: {d: {e: {f: {g: {h: {i: {j: {k: {l: {m: {n: {o: {p: {q: {r: {s: {t: {u: {v: {w: {x: {y: {z: {aa: {bb: {cc: {dd: {ee: {ff: 1}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}\n---\ndeep",
		"---\nk: \"\\0nul\"\n\"\\xff\": v\n---\n",
		"\xff\xfe-\x00-\x00-\x00\n\x00",
		"plain note\n---\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		fm, body := splitFrontMatter(text)
		if !strings.HasSuffix(text, body) {
			t.Fatalf("body %q is not the end of %q", body, text)
		}
		if body != text {
			first, _, _ := strings.Cut(text, "\n")
			if strings.TrimRight(first, " \t\r") != "---" {
				t.Fatalf("cut front matter off %q, whose first line is %q", text, first)
			}
		}
		if fm.Fields != nil && fm.Err != "" || fm.Err != "" && fm.Raw == "" {
			t.Fatalf("front matter %+v", fm)
		}
		it, err := noteItem("notes/n.md", time.Date(2024, 5, 1, 9, 30, 0, 0, time.UTC), []byte(text))
		if err != nil {
			return // binary or too large: reported as a failure, by design
		}
		_, fails, err := engram.PrepareSyncItems(engram.NewID(), []engram.SourceItem{it}, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fails {
			if !f.Kept {
				t.Fatalf("the store refuses the note %q: %s", text, f.Reason)
			}
		}
	})
}
