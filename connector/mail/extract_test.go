package mail

import (
	"strings"
	"testing"
)

// The regressions of issue 15: each case is a message a user's test found
// read wrong, cut to what shows the fault.

func TestHTMLBrokenMarkupKeepsText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, html, want, not string }{
		{"unclosed head", "<html><head><title>t</title><p>Cheap pills here</p>", "Cheap pills here", "t\n"},
		{"unterminated comment", "<p>Before</p><!-- hidden <p>Buy now at the site</p>", "Buy now at the site", ""},
		{"list inside hidden", "<p>Visible</p><style><li>x</li></style><div hidden-ish><ul><li>one</li></ul></div>", "Visible\n\n- one", "- x"},
		{"list inside head", "<head><title><li>no</li></title></head><body><li>yes</li>", "- yes", "- no"},
	} {
		got := htmlToText(c.html)
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: %q lacks %q", c.name, got, c.want)
		}
		if c.not != "" && strings.Contains(got, c.not) {
			t.Errorf("%s: %q holds hidden %q", c.name, got, c.not)
		}
	}
	// Hidden list items leave no stray markers or blank lines behind.
	if got := htmlToText("<script><li>a</li></script><p>Only</p>"); got != "Only" {
		t.Errorf("hidden list: %q", got)
	}
}

func TestContentTypeWithoutSemicolon(t *testing.T) {
	t.Parallel()
	m := parse(t, msg("ct@x", "plain", "Read me please.", "Content-Type: TEXT/PLAIN charset=US-ASCII"))
	if m.item.Content != "Read me please." {
		t.Errorf("content %q", m.item.Content)
	}
}

func TestPlaceholderLosesToHTML(t *testing.T) {
	t.Parallel()
	raw := msg("ph@x", "offer", `--b
Content-Type: text/plain

This is an HTML message. Please use an HTML capable mail program to read it.
--b
Content-Type: text/html

<p>Dear friend, we offer the lowest mortgage rates of the year to every reader of this list.
Apply today and save thousands on your monthly payments with no credit check at all.</p>
--b--
`, "MIME-Version: 1.0", `Content-Type: multipart/alternative; boundary="b"`)
	m := parse(t, raw)
	if !strings.Contains(m.item.Content, "lowest mortgage rates") {
		t.Errorf("content %q", m.item.Content)
	}
	// A real plain version still wins over its HTML twin.
	m = parse(t, alternative)
	if !strings.HasPrefix(m.item.Content, "Plain version") {
		t.Errorf("plain version lost: %q", m.item.Content)
	}
}

func TestClassifierHeadersAndPath(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, root, map[string]string{
		"spam/00001.abc": msg("h@x", "Save  big   now", "body",
			"List-Id: <deals.example.com>", "List-Unsubscribe: <mailto:u@example.com>",
			"Precedence: bulk", "X-Mailer: Blaster 2.0",
			"Received: from a by b", "Received: from c by d", "Content-Type: text/plain; charset=us-ascii"),
	})
	items, _ := readAll(t, root)
	if len(items) != 1 {
		t.Fatalf("%d items", len(items))
	}
	it := items[0]
	if it.SourceType != "mail" {
		t.Errorf("source type %q", it.SourceType)
	}
	m := meta(t, it)
	if m["path"] != "spam/00001.abc" {
		t.Errorf("path %v", m["path"])
	}
	h, _ := m["headers"].(map[string]any)
	want := map[string]any{
		"subject": "Save  big   now", "list_id": "<deals.example.com>", "precedence": "bulk",
		"list_unsubscribe": "<mailto:u@example.com>", "x_mailer": "Blaster 2.0",
		"received_hops": 2.0, "from": "Ann Example <Ann@Example.com>", "to": "bob@example.com",
		"date": "Tue, 1 Oct 2002 10:00:00 +0200",
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("headers[%s] = %#v, want %#v", k, h[k], v)
		}
	}
	if ct, _ := h["content_types"].([]any); len(ct) != 1 || ct[0] != "text/plain" {
		t.Errorf("content_types %v", h["content_types"])
	}
}

func TestLinkHosts(t *testing.T) {
	t.Parallel()
	raw := msg("l@x", "links", `--b
Content-Type: text/html

<p>Buy at <a href="HTTP://Shop.Example.COM/x?y=1">our shop</a> or <a href="mailto:a@b.c">mail</a>,
<a href="https://shop.example.com/other">again</a>.</p>
--b
Content-Type: text/plain

See https://docs.example.org/page and http://shop.example.com too.
--b--
`, "MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b"`)
	m := parse(t, raw)
	got, _ := m.meta["link_hosts"].([]string)
	if strings.Join(got, " ") != "shop.example.com docs.example.org" {
		t.Errorf("link_hosts %q", got)
	}
}
