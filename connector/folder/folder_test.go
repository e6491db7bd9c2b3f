package folder

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/engram-kb/engram"
)

// write creates the files under root, making directories as needed.
func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sync parses raw settings and reads every item and failure.
func sync(t *testing.T, raw string) (map[string]engram.SourceItem, []string, []engram.SourceFailure) {
	t.Helper()
	s, err := ParseSettings(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("ParseSettings(%s): %v", raw, err)
	}
	items := map[string]engram.SourceItem{}
	var order []string
	var fails []engram.SourceFailure
	err = New(s).Items(context.Background(), func(it engram.SourceItem) error {
		if _, dup := items[it.ExternalID]; dup {
			t.Errorf("external id %q yielded twice", it.ExternalID)
		}
		items[it.ExternalID] = it
		order = append(order, it.ExternalID)
		return nil
	}, func(f engram.SourceFailure) { fails = append(fails, f) })
	if err != nil {
		t.Fatalf("Items: %v", err)
	}
	return items, order, fails
}

func settingsFor(root string, extra string) string {
	b, _ := json.Marshal(root)
	return `{"path": ` + string(b) + extra + `}`
}

func TestVault(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, root, map[string]string{
		"Inbox.md":                 "Some text without a heading.\n",
		"projects/alpha/Plan.md":   "intro\n\n## The plan ##\n\nsteps\n",
		"projects/alpha/notes.txt": "plain text",
		"projects/setext.md":       "Big Title\n=========\n\nbody\n",
		"code.md":                  "```\n# not a heading\n```\n\n# Real heading\n",
		"daily/2024-01-02.md":      "---\ntitle: From front matter\ntags: [work, q1]\ndate: 2024-01-02\ncount: 3\nnested: {a: 1}\n---\n# Heading loses\nbody text\n",
		"broken.md":                "---\ntitle: [unclosed\n---\n# Broken front matter\nstill here\n",
		"unclosed.md":              "---\nthis is a horizontal rule, not front matter\n",
		"image.png":                "\x89PNG\r\n",
		".obsidian/workspace.md":   "# tool state\n",
		".trash/old.md":            "# deleted\n",
		"projects/.git/HEAD.md":    "# git\n",
	})
	items, order, fails := sync(t, settingsFor(root, ""))
	if len(fails) != 0 {
		t.Errorf("failures: %+v", fails)
	}
	want := []string{"Inbox.md", "broken.md", "code.md", "daily/2024-01-02.md", "projects/alpha/Plan.md", "projects/alpha/notes.txt", "projects/setext.md", "unclosed.md"}
	if !slices.Equal(order, want) {
		t.Fatalf("ids in order:\n got %q\nwant %q", order, want)
	}
	titles := map[string]string{
		"Inbox.md":                 "Inbox",
		"projects/alpha/Plan.md":   "The plan",
		"projects/alpha/notes.txt": "notes",
		"projects/setext.md":       "Big Title",
		"code.md":                  "Real heading",
		"daily/2024-01-02.md":      "From front matter",
		"broken.md":                "Broken front matter",
		"unclosed.md":              "unclosed",
	}
	for id, title := range titles {
		if got := items[id].Title; got != title {
			t.Errorf("%s: title %q, want %q", id, got, title)
		}
	}

	daily := items["daily/2024-01-02.md"]
	if daily.Content != "# Heading loses\nbody text\n" {
		t.Errorf("front matter left in content: %q", daily.Content)
	}
	var meta struct {
		Path        string         `json:"path"`
		FrontMatter map[string]any `json:"front_matter"`
	}
	if err := json.Unmarshal(daily.Metadata, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Path != "daily/2024-01-02.md" || meta.FrontMatter["date"] != "2024-01-02T00:00:00Z" ||
		meta.FrontMatter["count"] != 3.0 || !slices.Equal(meta.FrontMatter["tags"].([]any), []any{"work", "q1"}) ||
		meta.FrontMatter["nested"].(map[string]any)["a"] != 1.0 {
		t.Errorf("metadata: %s", daily.Metadata)
	}

	broken := items["broken.md"]
	var bm map[string]string
	if err := json.Unmarshal(broken.Metadata, &bm); err != nil {
		t.Fatal(err)
	}
	if bm["front_matter_raw"] != "title: [unclosed\n" || bm["front_matter_error"] == "" {
		t.Errorf("malformed front matter metadata: %s", broken.Metadata)
	}
	if broken.Content != "# Broken front matter\nstill here\n" {
		t.Errorf("malformed front matter content: %q", broken.Content)
	}
	if got := items["unclosed.md"].Content; !strings.HasPrefix(got, "---\n") {
		t.Errorf("unclosed front matter should stay in content, got %q", got)
	}
}

func TestGlobs(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, root, map[string]string{
		"a.md": "", "a.txt": "", "x/b.md": "", "x/y/c.md": "", "x/y/c.org": "",
		"templates/t.md": "", "x/templates/t.md": "", "x/draft-1.md": "",
	})
	cases := []struct {
		name, extra string
		want        []string
	}{
		{"defaults", ``, []string{"a.md", "a.txt", "templates/t.md", "x/b.md", "x/draft-1.md", "x/templates/t.md", "x/y/c.md"}},
		{"root only", `, "include": ["*.md"]`, []string{"a.md"}},
		{"one level", `, "include": ["x/*.md"]`, []string{"x/b.md", "x/draft-1.md"}},
		{"double star middle", `, "include": ["x/**/*.org"]`, []string{"x/y/c.org"}},
		{"exclude dir at root", `, "exclude": ["templates/**"]`, []string{"a.md", "a.txt", "x/b.md", "x/draft-1.md", "x/templates/t.md", "x/y/c.md"}},
		{"exclude dir anywhere", `, "exclude": ["**/templates/**", "**/draft-?.md"]`, []string{"a.md", "a.txt", "x/b.md", "x/y/c.md"}},
		{"classes", `, "include": ["**/[ab].*"]`, []string{"a.md", "a.txt", "x/b.md"}},
		{"everything", `, "include": ["**"], "exclude": ["**/*.md"]`, []string{"a.txt", "x/y/c.org"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, order, _ := sync(t, settingsFor(root, tc.extra))
			if !slices.Equal(order, tc.want) {
				t.Errorf("got %q, want %q", order, tc.want)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"**/*.md", "a.md", true},
		{"**/*.md", "a/b/c.md", true},
		{"**/*.md", "a/b/c.mdx", false},
		{"*.md", "a/b.md", false},
		{"a/**", "a", false},
		{"a/**", "a/b/c", true},
		{"a/**/b", "a/b", true},
		{"a/**/**/b", "a/x/y/b", true},
		{"?.md", "ab.md", false},
		{"/x.md", "x.md", true},
	}
	for _, tc := range cases {
		g, err := compileGlob(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if got := g.match(tc.path); got != tc.want {
			t.Errorf("%q matches %q = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}

func TestRenameAndMtime(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, root, map[string]string{"old.md": "# Note\n"})
	mtime := time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(root, "old.md"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	items, _, _ := sync(t, settingsFor(root, ""))
	if got := items["old.md"].SourceUpdatedAt; got == nil || !got.Equal(mtime) {
		t.Errorf("source_updated_at %v, want %v", got, mtime)
	}
	if err := os.MkdirAll(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "old.md"), filepath.Join(root, "sub", "new.md")); err != nil {
		t.Fatal(err)
	}
	items, order, _ := sync(t, settingsFor(root, ""))
	if !slices.Equal(order, []string{"sub/new.md"}) || items["sub/new.md"].Title != "Note" {
		t.Errorf("after rename: %q", order)
	}
}

func TestBadFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	big := strings.Repeat("x", engram.MaxContentBytes+1)
	long := "# " + strings.Repeat("é", engram.MaxTitleLen+50) + "\n"
	write(t, root, map[string]string{
		"binary.md":  "abc\x00def",
		"latin1.md":  "# Caf\xe9\n\xff\xfe is not UTF-8",
		"utf16.txt":  "\xff\xfeh\x00i\x00",
		"bom.md":     "\xef\xbb\xbf# Bom\n",
		"big.md":     big,
		"long.md":    long,
		"nul-fm.md":  "---\nk: \"a\\0b\"\n---\n",
		"empty.md":   "",
		"spaces.txt": "   \n",
	})
	items, _, fails := sync(t, settingsFor(root, ""))
	reasons := map[string]string{}
	for _, f := range fails {
		reasons[f.Ref] = f.Reason
	}
	if len(fails) != 2 || !strings.Contains(reasons["binary.md"], "binary") || !strings.Contains(reasons["big.md"], "MiB") {
		t.Errorf("failures: %+v", fails)
	}
	if it := items["latin1.md"]; it.Title != "Caf\uFFFD" || !utf8.ValidString(it.Content) || !strings.Contains(it.Content, "\n\uFFFD is not") {
		t.Errorf("invalid UTF-8 not replaced: %q %q", it.Title, it.Content)
	}
	if it := items["utf16.txt"]; it.Content != "hi" {
		t.Errorf("UTF-16 content %q", it.Content)
	}
	if it := items["bom.md"]; it.Title != "Bom" {
		t.Errorf("BOM title %q", it.Title)
	}
	if n := utf8.RuneCountInString(items["long.md"].Title); n != engram.MaxTitleLen {
		t.Errorf("long title has %d characters", n)
	}
	if m := string(items["nul-fm.md"].Metadata); strings.Contains(m, `\u0000`) || !strings.Contains(m, `"ab"`) {
		t.Errorf("NUL kept in metadata: %s", m)
	}
	if items["empty.md"].Title != "empty" || items["spaces.txt"].Title != "spaces" {
		t.Errorf("empty files need file-name titles")
	}
}

func TestSymlinks(t *testing.T) {
	t.Parallel()
	root, outside := t.TempDir(), t.TempDir()
	write(t, root, map[string]string{"a/n.md": "# N\n"})
	write(t, outside, map[string]string{"shared.md": "# Shared\n"})
	links := map[string]string{
		"loop":      root,                     // encloses the root
		"alias":     filepath.Join(root, "a"), // already read as a/
		"a/self":    filepath.Join(root, "a"), // encloses itself
		"ext":       outside,                  // followed
		"ext2":      outside,                  // the same target twice
		"file.md":   filepath.Join(outside, "shared.md"),
		"broken.md": filepath.Join(root, "missing.md"),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Skip("symbolic links unsupported:", err)
		}
	}
	_, order, fails := sync(t, settingsFor(root, ""))
	if want := []string{"a/n.md", "ext/shared.md", "file.md"}; !slices.Equal(order, want) {
		t.Errorf("got %q, want %q", order, want)
	}
	reasons := map[string]string{}
	for _, f := range fails {
		reasons[f.Ref] = f.Reason
	}
	if len(fails) != 3 || !strings.Contains(reasons["loop"], "loop") || !strings.Contains(reasons["a/self"], "loop") ||
		!strings.Contains(reasons["broken.md"], "broken") {
		t.Errorf("failures: %+v", fails)
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "f.md")
	write(t, dir, map[string]string{"f.md": ""})
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	cases := []struct{ raw, want string }{
		{``, "settings: required"},
		{`[]`, "settings: must be a JSON object"},
		{`{}`, "settings.path: required"},
		{`{"path": 3}`, "settings.path: must be a string"},
		{`{"path": "notes"}`, `settings.path: "notes" must be an absolute path`},
		{`{"path": "/nope/nowhere"}`, `settings.path: "/nope/nowhere" does not exist`},
		{`{"path": ` + q(file) + `}`, "settings.path: must be a directory"},
		{`{"path": ` + q(dir) + `, "include": ["**/*.md", "[a"]}`, `settings.include[1]: bad pattern "[a"`},
		{`{"path": ` + q(dir) + `, "exclude": ["a//b"]}`, `settings.exclude[0]: bad pattern "a//b"`},
		{`{"path": ` + q(dir) + `, "include": []}`, "settings.include: must list at least one pattern"},
		{`{"path": ` + q(dir) + `, "include": "*.md"}`, "settings.include: must be a list of strings"},
		{`{"path": ` + q(dir) + `, "include": [1]}`, "settings.include[0]: must be a string"},
		{`{"path": ` + q(dir) + `, "include_hidden": "yes"}`, "settings.include_hidden: must be true or false"},
		{`{"path": ` + q(dir) + `, "colour": "red", "zzz": 1}`, "settings.colour: unknown option"},
	}
	for _, tc := range cases {
		_, err := ParseSettings(json.RawMessage(tc.raw))
		var e *engram.Error
		if !errors.As(err, &e) || e.Code != engram.EInvalid || !strings.HasPrefix(e.Message, tc.want) {
			t.Errorf("ParseSettings(%s) = %v, want EInvalid %q", tc.raw, err, tc.want)
		}
	}
	s, err := ParseSettings(json.RawMessage(`{"path": ` + q(dir+"/./") + `}`))
	if err != nil || s.Path != dir || !slices.Equal(s.Include, DefaultInclude) || s.Exclude != nil {
		t.Errorf("defaults: %+v, %v", s, err)
	}
}

func TestCancelAndYieldError(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, root, map[string]string{"a.md": "", "b.md": "", "c.md": ""})
	s, err := ParseSettings(json.RawMessage(settingsFor(root, "")))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = New(s).Items(ctx, func(engram.SourceItem) error { n++; cancel(); return nil }, func(engram.SourceFailure) {})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Errorf("after cancel: %v, %d items", err, n)
	}
	stop := errors.New("stop")
	n = 0
	err = New(s).Items(context.Background(), func(engram.SourceItem) error { n++; return stop }, func(engram.SourceFailure) {})
	if err != stop || n != 1 {
		t.Errorf("yield error: %v, %d items", err, n)
	}
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	err = New(s).Items(context.Background(), func(engram.SourceItem) error { return nil }, func(engram.SourceFailure) {})
	if engram.ErrorCode(err) != engram.EInvalid {
		t.Errorf("vanished root: %v", err)
	}
}

// TestSourceTypeAndPath: a note is stored as source_type folder and
// traces back to its file (issue 15).
func TestSourceTypeAndPath(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, root, map[string]string{"a/b.md": "# B\n"})
	items, _, _ := sync(t, settingsFor(root, ""))
	it := items["a/b.md"]
	if it.SourceType != "folder" {
		t.Errorf("source type %q", it.SourceType)
	}
	var m map[string]any
	if err := json.Unmarshal(it.Metadata, &m); err != nil || m["path"] != "a/b.md" {
		t.Errorf("metadata %s (%v)", it.Metadata, err)
	}
}
