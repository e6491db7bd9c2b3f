package mail

import (
	"bytes"
	"io"
	"net/textproto"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector/internal/sanitize"
	"golang.org/x/net/html"
)

// messageSeeds are small messages of the shapes the extractor handles;
// testdata/fuzz/FuzzParseMessage holds real ones from the SpamAssassin
// corpus.
var messageSeeds = []string{
	"From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: hi\r\nDate: Thu, 22 Aug 2002 13:17:22 +0100\r\nMessage-ID: <a@b>\r\n\r\nbody\r\n",
	"From: =?utf-8?q?J=C3=B6rg?= <j@x>\nSubject: =?iso-8859-1?b?Q2Fm6Q==?=\nContent-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/html; charset=utf-8\n\n<p>caf&eacute;</p><script>x()</script>\n--b\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nplain =C3=A9=\n soft\n--b--\n",
	"Subject: fwd\nContent-Type: multipart/mixed; boundary=\"o\"\n\n--o\nContent-Type: message/rfc822\n\nFrom: c@d\nSubject: inner\nContent-Type: text/plain; charset=koi8-r\n\n\xf0\xd2\xc9\xd7\xc5\xd4\n--o\nContent-Type: application/pdf; name=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"\nContent-Disposition: attachment\nContent-Transfer-Encoding: base64\n\nJVBERi0x\n--o--\n",
	"From: x@y\nReferences: <1@a> <2@a> <3@a>\nIn-Reply-To: <3@a>\nX-Gmail-Labels: Inbox,Work\nCc: \"Z\" <z@y>, bad list\nDate: 1 Jan 0000 00:00:00 +0000\n\n\x00nul\xff\n",
	"From: a\x00b@c\nSubject: \xe9t\xe9\nContent-Type: text/plain; charset=windows-1252\n\n\x80 euro\n",
	"Subject: deep\nContent-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\ninner\n--b--\n--a--\n",
	"not a mail at all",
	"From: a@b\n",
}

// FuzzParseMessage checks that whatever a mail file holds, parseMessage
// never panics and every message it reads is an item the store accepts:
// engram.PrepareSyncItems may drop an impossible date, never the item.
func FuzzParseMessage(f *testing.F) {
	for _, s := range messageSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := parseMessage(raw)
		if err != nil {
			return
		}
		if len(m.id) > maxMessageIDBytes || !utf8.ValidString(m.id) {
			t.Fatalf("message id %q", m.id)
		}
		it := m.item
		it.ExternalID = "message"
		it.Metadata = sanitize.Metadata(m.meta)
		_, fails, err := engram.PrepareSyncItems(engram.NewID(), []engram.SourceItem{it}, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fails {
			if !f.Kept {
				t.Fatalf("the store refuses the message: %s\nitem %+v", f.Reason, it)
			}
		}
	})
}

// FuzzExtract runs the MIME body extractor on any body under any
// Content-Type and transfer encoding: it never panics and keeps within
// its bounds on parts and attachment names.
func FuzzExtract(f *testing.F) {
	f.Add("multipart/alternative; boundary=b", "", []byte("--b\nContent-Type: text/html\n\n<b>x</b>\n--b\n\nplain\n--b--\n"))
	f.Add("text/html; charset=\"iso-8859-1\"", "quoted-printable", []byte("<p>=E9t=E9 =\n=3D=XX</p>"))
	f.Add("text/plain; charset=utf-16", "base64", []byte("//5oAGkA\n"))
	f.Add("message/rfc822", "", []byte("Subject: s\nFrom: f\n\ninner body"))
	f.Add("multipart/mixed; boundary=\"=_x\"", "7bit", []byte("--=_x\nContent-Disposition: attachment; filename*=utf-8''a%20b.txt\n\ndata\n--=_x\nContent-Type: multipart/related; boundary=y\n\n--y\n\nnested\n--y--\n--=_x--"))
	f.Add("text/html", "", []byte("<meta charset=shift_jis><p>\x82\xa0</p>"))
	f.Add("multipart/mixed", "", []byte("no boundary"))
	f.Add("bogus;;; charset=\"", "base64", []byte("====="))
	f.Fuzz(func(t *testing.T, contentType, encoding string, body []byte) {
		h := textproto.MIMEHeader{"Content-Type": {contentType}, "Content-Transfer-Encoding": {encoding}}
		c := extract(h, body)
		if c.parts > maxParts+maxDepth+1 {
			t.Fatalf("%d parts, bound %d", c.parts, maxParts)
		}
		if len(c.attachmentNames) > maxAttachmentNames {
			t.Fatalf("%d attachment names", len(c.attachmentNames))
		}
		if len(c.attachmentNames) > 0 && !c.hasAttachments {
			t.Fatal("attachment names without attachments")
		}
		if c.text != strings.TrimSpace(c.text) {
			t.Fatalf("text not trimmed: %q", c.text)
		}
	})
}

// scriptMarker stands for a script's code; it has no markup or space, so
// it always lies inside one token.
const scriptMarker = "zqxScriptBodyxqz"

// FuzzHTMLToText puts a script element, in one of the ways a page can
// write one, between arbitrary HTML: htmlToText never panics, gives valid
// UTF-8 for valid UTF-8, and whatever the tokenizer reads as the script's
// text never shows.
func FuzzHTMLToText(f *testing.F) {
	f.Add("<p>before</p>", "var a = 1 < 2;", "<p>after</p>", uint8(0))
	f.Add("<html><head><title>t</title>", "", "<body>text", uint8(1))
	// A self-closing script used to show its code.
	f.Add("<p>a</p>", "alert(1)", "<p>b</p>", uint8(2))
	f.Add("<textarea>", "x", "</textarea>", uint8(3))
	f.Add("<!--", "", "-->", uint8(0))
	f.Add("<svg><foreignObject>", "<!--<script>", "</svg>&amp;&#0;&#xD800;", uint8(4))
	f.Add("<table><tr><td>", "\x00", "\xff</td>", uint8(5))
	f.Fuzz(func(t *testing.T, before, code, after string, form uint8) {
		opens := []string{"<script>", "<SCRIPT type=\"text/javascript\">", "<script/>", "<script src=x />", "<script\n>", "<sCrIpT\tdefer>"}
		doc := before + opens[int(form)%len(opens)] + code + scriptMarker + "</script>" + after
		out := htmlToText(doc)
		if utf8.ValidString(doc) && !utf8.ValidString(out) {
			t.Fatalf("htmlToText(%q) = %q, not valid UTF-8", doc, out)
		}
		if strings.Count(doc, scriptMarker) == 1 && inScript(doc) && strings.Contains(out, scriptMarker) {
			t.Fatalf("htmlToText(%q) = %q shows the script", doc, out)
		}
	})
}

// inScript reports whether the tokenizer reads the marker as the text
// of a script element: the text token right after a script start tag.
func inScript(doc string) bool {
	z := html.NewTokenizer(strings.NewReader(doc))
	afterScript := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return false
		case html.TextToken:
			if bytes.Contains(z.Raw(), []byte(scriptMarker)) {
				return afterScript
			}
		}
		name, _ := z.TagName()
		afterScript = (tt == html.StartTagToken || tt == html.SelfClosingTagToken) && strings.EqualFold(string(name), "script")
	}
}

// mboxSender is the separator line the fuzzed mbox files use.
const mboxSender = "From sender@example.com Thu Aug 22 13:17:22 2002\n"

// quoteFrom adds a ">" to every line that is "From " after any number of
// ">", as mboxrd writers do.
func quoteFrom(msg []byte) []byte {
	var out []byte
	for line := range bytes.Lines(msg) {
		if bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From ")) {
			out = append(out, '>')
		}
		out = append(out, line...)
	}
	return out
}

// FuzzMbox writes up to three messages as an mbox, the way mboxrd
// writers quote "From " lines, and reads it back: the same number of
// messages comes back, each with its bytes, offset and size, or without
// its bytes when it is over the limit. long makes the second message
// longer than the reader's buffer.
func FuzzMbox(f *testing.F) {
	f.Add([]byte("Subject: a\n\nbody\n"), []byte("Subject: b\n\nFrom here on\n>From quoted\n"), []byte("no newline at end"), uint16(0), false)
	f.Add([]byte("From me\n"), []byte("\n"), []byte(">>>From x\r\nFrom Thu Aug 22 13:17:22 2002\n"), uint16(10), true)
	f.Add([]byte("a"), []byte(""), []byte("c\n\n\n"), uint16(300), false)
	f.Fuzz(func(t *testing.T, a, b, c []byte, limit uint16, long bool) {
		if long && len(b) > 0 {
			b = bytes.Repeat(b, 70000/len(b)+1)
		}
		type want struct {
			data         []byte
			offset, size int64
		}
		var file bytes.Buffer
		var wants []want
		for _, msg := range [][]byte{a, b, c} {
			if len(msg) == 0 {
				continue // an empty message has no lines to keep apart
			}
			if msg[len(msg)-1] != '\n' {
				msg = append(bytes.Clone(msg), '\n')
			}
			quoted := quoteFrom(msg)
			file.WriteString(mboxSender)
			wants = append(wants, want{msg, int64(file.Len() - len(mboxSender)), int64(len(quoted))})
			file.Write(quoted)
		}
		lim := MaxMessageBytes
		if limit > 0 {
			lim = int(limit)
		}
		r := newMboxReader(bytes.NewReader(file.Bytes()), lim)
		for i := 0; ; i++ {
			got, err := r.Next()
			if err == io.EOF {
				if i != len(wants) {
					t.Fatalf("%d messages back, wrote %d", i, len(wants))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if i >= len(wants) {
				t.Fatalf("message %d back, wrote %d: %q", i, len(wants), got.data)
			}
			w := wants[i]
			if len(w.data) > lim {
				w.data = nil
			}
			if got.offset != w.offset || got.size != w.size || !bytes.Equal(got.data, w.data) || (got.data == nil) != (w.data == nil) {
				t.Fatalf("message %d: offset %d size %d data %q; want offset %d size %d data %q",
					i, got.offset, got.size, got.data, w.offset, w.size, w.data)
			}
		}
	})
}
