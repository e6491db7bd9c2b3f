package mail

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// parse reads one raw message and fails the test on error.
func parse(t *testing.T, raw string) *message {
	t.Helper()
	m, err := parseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parseMessage: %v\n%s", err, raw)
	}
	it := m.item
	it.ExternalID = "checked" // given by the source, not the parser
	checkItem(t, it)
	return m
}

const alternative = `From: a@example.com
Subject: alt
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/html; charset=utf-8

<p>HTML version</p>
--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Plain version, soft=
 broken, caf=C3=A9, bad =ZZ escape
--inner--
--outer
Content-Type: application/pdf; name="=?utf-8?Q?r=C3=A9sum=C3=A9.pdf?="
Content-Disposition: attachment
Content-Transfer-Encoding: base64

JVBERi0=
--outer
Content-Type: image/png
Content-ID: <logo>

iVBORw0KGgo=
--outer--
`

func TestMultipart(t *testing.T) {
	t.Parallel()
	m := parse(t, alternative)
	if m.item.Content != "Plain version, soft broken, café, bad =ZZ escape" {
		t.Errorf("content %q", m.item.Content)
	}
	if m.meta["has_attachments"] != true || !slices.Equal(m.meta["attachment_names"].([]string), []string{"résumé.pdf"}) {
		t.Errorf("attachments %v", m.meta)
	}
}

func TestHTMLOnlyAndBase64(t *testing.T) {
	t.Parallel()
	// "<html><head><title>T</title><style>p{}</style></head><body><p>Hello &amp; welcome</p>
	// <script>alert(1)</script><ul><li>one</li><li>two</li></ul>Bye&nbsp;now<br>ok</body></html>"
	raw := "From: a@example.com\nSubject: html\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\n" +
		"PGh0bWw+PGhlYWQ+PHRpdGxlPlQ8L3RpdGxlPjxzdHlsZT5we308L3N0eWxlPjwvaGVhZD48Ym9k\n" +
		"eT48cD5IZWxsbyAmYW1wOyB3ZWxjb21lPC9wPgo8c2NyaXB0PmFsZXJ0KDEpPC9zY3JpcHQ+PHVs\n" +
		"PjxsaT5vbmU8L2xpPjxsaT50d288L2xpPjwvdWw+QnllJm5ic3A7bm93PGJyPm9rPC9ib2R5Pjwv\n" +
		"aHRtbD4=\n"
	m := parse(t, raw)
	if want := "Hello & welcome\n\n- one\n\n- two\n\nBye now\nok"; m.item.Content != want {
		t.Errorf("content %q, want %q", m.item.Content, want)
	}
}

func TestCharsets(t *testing.T) {
	t.Parallel()
	cases := []struct {
		charset, cte, body, want string
	}{
		{"iso-8859-1", "8bit", "caf\xe9 cr\xe8me", "café crème"},
		{"iso-8859-15", "8bit", "\xa4 5", "€ 5"},
		{"windows-1252", "quoted-printable", "=93quoted=94 =80", "“quoted” €"},
		{"koi8-r", "8bit", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет"},
		{"shift_jis", "8bit", "\x93\xfa\x96\x7b", "日本"},
		{"euc-jp", "8bit", "\xc6\xfc\xcb\xdc", "日本"},
		{"iso-2022-jp", "7bit", "\x1b$BF|K\\\x1b(B", "日本"},
		{"gb2312", "base64", "1tDOxA==", "中文"},
		{"gbk", "8bit", "\xd6\xd0\xce\xc4", "中文"},
		{"big5", "8bit", "\xa4\xa4\xa4\xe5", "中文"},
		{"euc-kr", "8bit", "\xc7\xd1\xb1\xb9", "한국"},
		{"ks_c_5601-1987", "8bit", "\xc7\xd1\xb1\xb9", "한국"},
		{"us-ascii", "7bit", "plain", "plain"},
		{"utf-8", "8bit", "ok \xff bad", "ok \uFFFD bad"},
		{"x-unknown", "8bit", "caf\xe9", "café"},
		{"iso-8859-1", "8bit", "mislabelled caf\xc3\xa9", "mislabelled café"},
	}
	for _, tc := range cases {
		raw := "From: a@example.com\nSubject: cs\nContent-Type: text/plain; charset=\"" + tc.charset +
			"\"\nContent-Transfer-Encoding: " + tc.cte + "\n\n" + tc.body
		if got := parse(t, raw).item.Content; got != tc.want {
			t.Errorf("%s: %q, want %q", tc.charset, got, tc.want)
		}
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, headers       string
		title, sender, from string
		to                  []string
	}{
		{"rfc2047 utf-8 and q", "From: =?utf-8?B?Sm9zw6k=?= <jose@example.com>\nSubject: =?iso-8859-1?Q?Caf=E9?= =?utf-8?B?IOKCrA==?=",
			"Café €", "José", "jose@example.com", nil},
		{"koi8-r words", "From: x@example.com\nSubject: =?koi8-r?B?8NLJ18XU?=", "Привет", "x@example.com", "x@example.com", nil},
		{"iso-2022-jp word", "From: x@example.com\nSubject: =?ISO-2022-JP?B?GyRCRnxLXBsoQg==?=", "日本", "x@example.com", "x@example.com", nil},
		{"raw 8-bit in message charset", "From: \"M\xfcller\" <m@example.com>\nSubject: Gr\xfc\xdfe\nContent-Type: text/plain; charset=iso-8859-1",
			"Grüße", "Müller", "m@example.com", nil},
		{"malformed from", "From: Foo Bar <Foo@Bar.example\nSubject: x", "x", "Foo Bar", "foo@bar.example", nil},
		{"no address at all", "From: The Team\nSubject: ", "(no subject)", "The Team", "", nil},
		{"recipients", "From: a@example.com\nTo: B <B@x.com>, c@x.com\nCc: b@x.com, \"D\" <d@x.com>\nSubject: r", "r", "a@example.com", "a@example.com",
			[]string{"b@x.com", "c@x.com", "d@x.com"}},
		{"broken recipients", "From: a@example.com\nTo: b@x.com; <c@x.com>, ,\nSubject: r", "r", "a@example.com", "a@example.com",
			[]string{"b@x.com", "c@x.com"}},
		{"folded long subject", "From: a@example.com\nSubject: one\n two\n\tthree", "one two three", "a@example.com", "a@example.com", nil},
	}
	for _, tc := range cases {
		m := parse(t, tc.headers+"\n\nbody")
		it := m.item
		if it.Title != tc.title || it.Sender != tc.sender || it.SenderEmail != tc.from || !slices.Equal(it.Recipients, tc.to) && len(tc.to)+len(it.Recipients) > 0 {
			t.Errorf("%s: got title %q sender %q <%s> to %q", tc.name, it.Title, it.Sender, it.SenderEmail, it.Recipients)
		}
	}
	m := parse(t, "From: a@example.com\nTo: b@x.com\nCc: C@x.com\nMessage-ID:  <id@x> \nIn-Reply-To: <p@x>\nReferences: <r1@x>\n <p@x>\nSubject: m\n\nb")
	if m.id != "id@x" || m.meta["in_reply_to"] != "p@x" || !slices.Equal(m.meta["references"].([]string), []string{"r1@x", "p@x"}) ||
		!slices.Equal(m.meta["cc"].([]string), []string{"c@x.com"}) {
		t.Errorf("threading metadata %v", m.meta)
	}
	long := parse(t, "From: a@example.com\nSubject: "+strings.Repeat("word ", 500)+"\n\nb")
	if n := len([]rune(long.item.Title)); n != 1000 {
		t.Errorf("long subject gives %d characters", n)
	}
}

func TestDates(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"Tue, 1 Oct 2002 10:00:00 +0200", "2002-10-01T08:00:00Z"},
		{"Tue, 1 Oct 2002 10:00:00 +0200 (CEST)", "2002-10-01T08:00:00Z"},
		{"1 Oct 2002 10:00 GMT", "2002-10-01T10:00:00Z"},
		{"Sun, 25 Aug 2002 19:21:44 01800", "2002-08-25T19:21:44Z"},
		{"Thu, 29 Aug 2002 15:36:58 +-0500", "2002-08-29T15:36:58Z"},
		{"Sat, 21 Sep 02 05:01:06 Greenwich Standard Time", "2002-09-21T05:01:06Z"},
		{"2002/09/14 Sat 02:29:32 CDT", "2002-09-14T02:29:32Z"},
		{"Mon Jan  7 12:30:00 2002", "2002-01-07T12:30:00Z"},
		{"Wed, 21 Aug 2002 20:31:57 -1600", "2002-08-22T12:31:57Z"},
		{"", ""},
		{"yesterday", ""},
	}
	for _, tc := range cases {
		got := parseDate(tc.in)
		switch {
		case tc.want == "" && got != nil:
			t.Errorf("%q: %v, want nil", tc.in, got)
		case tc.want != "" && (got == nil || got.Format(time.RFC3339) != tc.want):
			t.Errorf("%q: %v, want %s", tc.in, got, tc.want)
		}
	}
}

func TestHTMLToText(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"<b>bold</b> and <i>it</i>", "bold and it"},
		{"<div>a</div><div>b</div>", "a\n\nb"},
		{"a<br/>b<br>c", "a\nb\nc"},
		{"<table><tr><td>x</td><td>y</td></tr></table>", "x y"},
		{"&lt;tag&gt; &eacute; &#8364; &#x41;", "<tag> é € A"},
		{"<style>.a{}</style><!-- c --><noscript>n</noscript>shown", "shown"},
		{"<p>unclosed <b>tags", "unclosed tags"},
		{"   lots   of\n\n\n\n spaces  ", "lots of\n\nspaces"},
		{"<p>a</p><script/>alert(1)</script><p>b</p>", "a\n\nb"},
		{"<html><head><title>T</title><body>Hello</body></html>", "Hello"},
	}
	for _, tc := range cases {
		if got := htmlToText(tc.in); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
}
