package mail

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToText turns an HTML body into plain text: script, style, head and
// other invisible elements are dropped, block elements and <br> become line
// breaks, entities are decoded, runs of blanks become one space and runs of
// blank lines one blank line. It is for reading and search, not layout.
//
// Broken markup, common in bulk mail, keeps its text: a <head> that is
// never closed ends at the first element that only a body holds, and a
// comment that is never closed ("<!--" to the end) is read as markup, since
// dropping the rest of a message would hide exactly what its sender hid.
func htmlToText(s string) string {
	t, _ := htmlToTextLinks(s)
	return t
}

// htmlToTextLinks is htmlToText that also returns the hosts the links of
// the HTML point to (<a href>), which the text loses.
func htmlToTextLinks(s string) (string, []string) {
	var b strings.Builder
	var hosts []string
	writeText(&b, s, 0, &hosts)
	return tidy(b.String()), hosts
}

// maxReparse bounds how often unterminated comments restart the reading.
const maxReparse = 8

func writeText(b *strings.Builder, s string, depth int, hosts *[]string) {
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0 // depth inside elements whose text is not shown
	inHead := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			// io.EOF, or a read error a strings.Reader never gives: either
			// way the text so far is all there is.
			return
		case html.CommentToken:
			raw := z.Raw()
			if depth < maxReparse && bytes.HasPrefix(raw, []byte("<!--")) &&
				!bytes.HasSuffix(raw, []byte("-->")) && !bytes.HasSuffix(raw, []byte("--!>")) {
				writeText(b, string(raw[4:]), depth+1, hosts)
				return
			}
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if inHead && !headOnly[a] {
				// Content the head cannot hold ends it, as a browser does.
				inHead = false
				skip = max(0, skip-1)
			}
			if a == atom.Head && tt == html.StartTagToken {
				inHead = true
			}
			if a == atom.A {
				for {
					k, v, more := z.TagAttr()
					if string(k) == "href" {
						addHost(hosts, string(v))
					}
					if !more {
						break
					}
				}
			}
			// "<script/>" opens a script all the same: the tokenizer reads
			// what follows as its raw text, up to "</script>".
			if hidden[a] && (tt == html.StartTagToken || rawText[a]) {
				skip++
			}
			// <body> ends the head, closed or not: an unclosed <head>
			// must not hide the whole message.
			if a == atom.Body && tt == html.StartTagToken {
				skip = 0
			}
			if skip > 0 {
				continue
			}
			if a == atom.Br || a == atom.Hr || block[a] {
				b.WriteByte('\n')
			}
			if a == atom.Li {
				b.WriteString("- ")
			}
			if a == atom.Td || a == atom.Th {
				b.WriteByte(' ')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if a == atom.Head {
				inHead = false
			}
			if hidden[a] && skip > 0 {
				skip--
			}
			if block[a] && skip == 0 {
				b.WriteByte('\n')
			}
		}
	}
}

// headOnly are the elements a <head> holds; any other start tag ends an
// unclosed head.
var headOnly = map[atom.Atom]bool{
	atom.Head: true, atom.Meta: true, atom.Link: true, atom.Title: true, atom.Style: true,
	atom.Script: true, atom.Base: true, atom.Noscript: true, atom.Template: true, atom.Html: true,
}

// hidden elements hold no visible text.
var hidden = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Head: true, atom.Title: true,
	atom.Noscript: true, atom.Template: true, atom.Iframe: true, atom.Object: true,
	atom.Svg: true,
}

// rawText elements among the hidden ones hold raw text up to their end
// tag even when written self-closing.
var rawText = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Title: true, atom.Noscript: true, atom.Iframe: true,
}

// block elements start and end a line.
var block = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Tr: true, atom.Li: true, atom.Ul: true,
	atom.Ol: true, atom.Table: true, atom.H1: true, atom.H2: true, atom.H3: true,
	atom.H4: true, atom.H5: true, atom.H6: true, atom.Blockquote: true,
	atom.Pre: true, atom.Section: true, atom.Article: true, atom.Header: true,
	atom.Footer: true, atom.Center: true, atom.Dl: true, atom.Dt: true,
	atom.Dd: true, atom.Form: true, atom.Address: true, atom.Body: true,
}

// tidy collapses blanks within lines and blank lines between them.
func tidy(s string) string {
	var b strings.Builder
	blank := true // no blank lines at the start
	for line := range strings.Lines(s) {
		line = strings.Join(strings.Fields(strings.ReplaceAll(line, "\u00a0", " ")), " ")
		if line == "" {
			if !blank {
				b.WriteByte('\n')
			}
			blank = true
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
		blank = false
	}
	return strings.TrimRight(b.String(), "\n")
}
