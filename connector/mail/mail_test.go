package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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

// msg builds a simple message; headers are "Key: value" lines.
func msg(id, subject, body string, headers ...string) string {
	h := "From: Ann Example <Ann@Example.com>\nTo: bob@example.com\nDate: Tue, 1 Oct 2002 10:00:00 +0200\n"
	if id != "" {
		h += "Message-ID: <" + id + ">\n"
	}
	h += "Subject: " + subject + "\n"
	for _, x := range headers {
		h += x + "\n"
	}
	return h + "\n" + body
}

func byID(t *testing.T, items []engram.SourceItem) map[string]engram.SourceItem {
	t.Helper()
	m := map[string]engram.SourceItem{}
	for _, it := range items {
		checkItem(t, it)
		m[it.ExternalID] = it
	}
	return m
}

func meta(t *testing.T, it engram.SourceItem) map[string]any {
	t.Helper()
	m := map[string]any{}
	if len(it.Metadata) > 0 {
		if err := json.Unmarshal(it.Metadata, &m); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func TestMaildirAndFolders(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, root, map[string]string{
		"cur/1000.M1.host:2,S":  msg("cur@x", "in cur", "seen"),
		"new/1001.M2.host":      msg("new@x", "in new", "unseen"),
		"tmp/1002.M3.host":      msg("tmp@x", "being delivered", "partial"),
		".Sent/cur/1003.M4":     msg("sent@x", "hidden folder", "x"),
		"archive/2002/a.eml":    msg("eml@x", "nested eml", "body"),
		"archive/2002/noext":    msg("noext@x", "no extension", "body"),
		"archive/Inbox":         "From a Tue Oct  1 10:00:00 2002\n" + msg("tb@x", "thunderbird mbox", "body"),
		"archive/00001.7c5333":  "From a Tue Oct  1 10:00:00 2002\n" + msg("sa@x", "spamassassin file", "body"),
		"archive/tmp/not-mdir":  msg("tmpdir@x", "tmp outside a maildir", "body"),
		"archive/README":        "This folder holds old mail.\n",
		"archive/notes.txt":     "Subject-less notes: hello\n\nbody\n",
		"archive/empty.eml":     "",
		"archive/.DS_Store.eml": "junk",
	})
	items, fails := readAll(t, root)
	got := byID(t, items)
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ExternalID
	}
	want := []string{"sa@x", "eml@x", "noext@x", "tb@x", "tmpdir@x", "cur@x", "new@x"}
	if !slices.Equal(ids, want) {
		t.Errorf("ids %q, want %q", ids, want)
	}
	folders := map[string]any{"eml@x": "archive/2002", "tb@x": "archive/Inbox", "sa@x": "archive", "tmpdir@x": "archive/tmp", "cur@x": nil, "new@x": nil}
	for id, f := range folders {
		if m := meta(t, got[id]); m["folder"] != f {
			t.Errorf("%s: folder %v, want %v", id, m["folder"], f)
		}
	}
	reasons := map[string]string{}
	for _, f := range fails {
		reasons[f.Ref] = f.Reason
	}
	if len(fails) != 3 || !strings.HasPrefix(reasons["archive/README"], "malformed header") ||
		!strings.HasPrefix(reasons["archive/notes.txt"], "not an e-mail message") || reasons["archive/empty.eml"] == "" {
		t.Errorf("failures: %q", reasons)
	}
	it := got["cur@x"]
	if it.Title != "in cur" || it.Content != "seen" || it.Sender != "Ann Example" || it.SenderEmail != "ann@example.com" ||
		!slices.Equal(it.Recipients, []string{"bob@example.com"}) ||
		it.SourceCreatedAt == nil || !it.SourceCreatedAt.Equal(time.Date(2002, 10, 1, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("item: %+v", it)
	}
}

func TestMbox(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mbox := "From ann@example.com Tue Oct  1 10:00:00 2002\n" +
		msg("one@x", "first", "Hello\n>From the top, quoted\n>>From twice\nFrom 9:30 we meet, unescaped\n") + "\n" +
		"From MAILER-DAEMON Tue Oct  1 10:00:01 2002\n" +
		"this is not a header at all\n\n" +
		"From 1599883475349659613@xxx Thu Sep 10 14:27:16 +0000 2020\r\n" +
		strings.ReplaceAll(msg("", "third, no id", "crlf body\n", "X-Gmail-Labels: Inbox,Important"), "\n", "\r\n")
	write(t, root, map[string]string{"All mail.mbox": mbox})
	path := filepath.Join(root, "All mail.mbox")
	items, fails := readAll(t, path)
	if len(items) != 2 || len(fails) != 1 {
		t.Fatalf("%d items, failures %+v", len(items), fails)
	}
	if fails[0].Ref != fmt.Sprintf("All mail.mbox: message 2 at byte %d", strings.Index(mbox, "From MAILER")) || !strings.HasPrefix(fails[0].Reason, "malformed header") {
		t.Errorf("failure %+v", fails[0])
	}
	if got := items[0].Content; got != "Hello\nFrom the top, quoted\n>From twice\nFrom 9:30 we meet, unescaped" {
		t.Errorf("unescaping: %q", got)
	}
	third := items[1]
	if !strings.HasPrefix(third.ExternalID, "sha256:") || third.Content != "crlf body" || third.Title != "third, no id" {
		t.Errorf("third: %+v", third)
	}
	m := meta(t, third)
	if m["folder"] != "All mail" || !slices.Equal(m["labels"].([]any), []any{"Inbox", "Important"}) {
		t.Errorf("metadata %v", m)
	}
	again, _ := readAll(t, path)
	if again[1].ExternalID != third.ExternalID {
		t.Errorf("hash id not stable: %s, then %s", third.ExternalID, again[1].ExternalID)
	}
}

func TestMboxReaderLimit(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 100)
	in := "From a Tue Oct  1 10:00:00 2002\nSubject: a\n\nsmall\n" +
		"From b Tue Oct  1 10:00:00 2002\nSubject: b\n\n" + big + "\n" +
		"From c Tue Oct  1 10:00:00 2002\nSubject: c\n\n" + strings.Repeat("y", 300) + "\n"
	r := newMboxReader(strings.NewReader(in), 60)
	var sizes []int64
	var kept []bool
	for {
		m, err := r.Next()
		if err != nil {
			break
		}
		sizes = append(sizes, m.size)
		kept = append(kept, m.data != nil)
	}
	if !slices.Equal(kept, []bool{true, false, false}) || sizes[1] != 113 || sizes[2] != 313 {
		t.Errorf("kept %v sizes %v", kept, sizes)
	}
}

func TestDuplicates(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, root, map[string]string{
		"a/1.eml": msg("same@x", "hello", "same text"),
		"b/1.eml": "Received: by another hop\n" + msg("same@x", "hello", "same text"),
		"c/1.eml": msg("same@x", "hello", "different text"),
		"d/1.eml": msg("same@x", "hello", "different text"),
		"e/1.eml": msg("", "no id", "text"),
		"f/1.eml": msg("", "no id", "text"),
	})
	items, fails := readAll(t, root)
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ExternalID
	}
	if len(items) != 3 || ids[0] != "same@x" || !strings.HasPrefix(ids[1], "same@x#") || len(ids[1]) != len("same@x#")+12 ||
		!strings.HasPrefix(ids[2], "sha256:") {
		t.Errorf("ids %q", ids)
	}
	var refs []string
	for _, f := range fails {
		refs = append(refs, f.Ref)
		if !strings.HasPrefix(f.Reason, "duplicate") {
			t.Errorf("failure %+v", f)
		}
	}
	if !slices.Equal(refs, []string{"b/1.eml", "d/1.eml", "f/1.eml"}) {
		t.Errorf("duplicates reported: %q", refs)
	}
	again, _ := readAll(t, root)
	for i := range again {
		if again[i].ExternalID != ids[i] {
			t.Errorf("run 2: %s, run 1: %s", again[i].ExternalID, ids[i])
		}
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	cases := []struct{ raw, want string }{
		{`null`, "settings: required"},
		{`"x"`, "settings: must be a JSON object"},
		{`{}`, "settings.path: required"},
		{`{"path": ["a"]}`, "settings.path: must be a string"},
		{`{"path": "mail"}`, `settings.path: "mail" must be an absolute path`},
		{`{"path": "/nope"}`, `settings.path: "/nope" does not exist`},
		{`{"path": "/dev/null"}`, "settings.path: must be a directory or an mbox file"},
		{`{"path": ` + q(dir) + `, "colour": 1}`, "settings.colour: unknown option"},
	}
	for _, tc := range cases {
		_, err := ParseSettings(json.RawMessage(tc.raw))
		var e *engram.Error
		if !errors.As(err, &e) || e.Code != engram.EInvalid || e.Message != tc.want {
			t.Errorf("ParseSettings(%s) = %v, want EInvalid %q", tc.raw, err, tc.want)
		}
	}
	s, err := ParseSettings(json.RawMessage(`{"path": ` + q(dir+"//") + `}`))
	if err != nil || s.Path != dir {
		t.Errorf("clean path: %+v %v", s, err)
	}
}

func TestTooLargeCancelAndYieldError(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, root, map[string]string{
		"a.eml":   msg("a@x", "a", "a"),
		"big.eml": msg("big@x", "big", strings.Repeat("x", MaxMessageBytes)),
		"c.eml":   msg("c@x", "c", "c"),
	})
	items, fails := readAll(t, root)
	if len(items) != 2 || len(fails) != 1 || fails[0].Ref != "big.eml" || !strings.Contains(fails[0].Reason, "over 25 MiB") {
		t.Errorf("%d items, failures %+v", len(items), fails)
	}

	s, err := ParseSettings(json.RawMessage(`{"path": "` + root + `"}`))
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
	err = New(s).Items(context.Background(), func(engram.SourceItem) error { return stop }, func(engram.SourceFailure) {})
	if err != stop {
		t.Errorf("yield error: %v", err)
	}
}
