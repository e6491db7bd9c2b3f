package mail

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Bounds on a message's MIME tree, so that a hostile message cannot make
// the walk deep or long.
const (
	maxDepth           = 20
	maxParts           = 1000
	maxAttachmentNames = 20
)

// text kinds, in order of preference for multipart/alternative.
const (
	kindNone = iota
	kindHTML
	kindPlain
)

// content is what a message's MIME tree gave.
type content struct {
	text            string
	hasAttachments  bool
	attachmentNames []string
	parts           int
	// types lists the distinct media types of the parts, in order.
	types []string
	// hosts lists the distinct hosts the message links to, in order.
	hosts []string
}

// maxTypes bounds the media types a message's metadata lists.
const maxTypes = 20

// extract reads the body of a message with header h: the text/plain parts,
// else the HTML parts turned into text, and the attachments' names.
func extract(h textproto.MIMEHeader, body []byte) content {
	var c content
	text, _ := c.node(h, body, 0)
	c.text = strings.TrimSpace(text)
	return c
}

// node returns the text of one MIME entity and its kind.
func (c *content) node(h textproto.MIMEHeader, body []byte, depth int) (string, int) {
	c.parts++
	media, params := mediaType(h.Get("Content-Type"))
	if len(c.types) < maxTypes && !slices.Contains(c.types, media) {
		c.types = append(c.types, media)
	}
	disposition, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	// Names are often RFC 2047-encoded, which RFC 2231 does not allow but
	// every client writes.
	name = headerText(name, params["charset"])
	attachment := disposition == "attachment" || (name != "" && depth > 0)

	switch {
	case strings.HasPrefix(media, "multipart/") && depth < maxDepth:
		return c.multipart(media, params["boundary"], body, depth)
	case media == "message/rfc822" && !attachment && depth < maxDepth:
		return c.forwarded(decodeTransfer(h, body), depth)
	case attachment || (media != "text/plain" && media != "text/html"):
		if attachment || name != "" {
			c.hasAttachments = true
			if name != "" && len(c.attachmentNames) < maxAttachmentNames {
				c.attachmentNames = append(c.attachmentNames, name)
			}
		}
		return "", kindNone
	}
	data := decodeTransfer(h, body)
	charset := params["charset"]
	if media == "text/html" {
		if charset == "" {
			charset = metaCharset(data)
		}
		text, hosts := htmlToTextLinks(toUTF8(data, charset))
		for _, h := range hosts {
			addHost(&c.hosts, "http://"+h)
		}
		return text, kindHTML
	}
	text := toUTF8(data, charset)
	for _, u := range urlRe.FindAllString(text[:min(len(text), maxLinkScan)], maxHosts*4) {
		addHost(&c.hosts, u)
	}
	return text, kindPlain
}

// multipart reads the parts of a multipart entity. In multipart/alternative
// the plain text version wins over the HTML one; in every other kind
// (mixed, related, signed, …) the texts of the parts are joined.
func (c *content) multipart(media, boundary string, body []byte, depth int) (string, int) {
	if boundary == "" {
		return toUTF8(body, ""), kindPlain
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	var texts []string
	kinds := []int{}
	for c.parts < maxParts {
		// NextRawPart, unlike NextPart, leaves quoted-printable alone so
		// that every part is decoded the same lenient way.
		p, err := r.NextRawPart()
		if err != nil {
			break // the end, or a broken tail: keep the parts read so far
		}
		data, _ := io.ReadAll(p)
		if t, k := c.node(p.Header, data, depth+1); strings.TrimSpace(t) != "" {
			texts = append(texts, strings.TrimSpace(t))
			kinds = append(kinds, k)
		}
	}
	if len(texts) == 0 {
		return "", kindNone
	}
	if media == "multipart/alternative" {
		return alternativeText(texts, kinds)
	}
	best := kindNone
	for _, k := range kinds {
		best = max(best, k)
	}
	return strings.Join(texts, "\n\n"), best
}

// alternativeText picks the version of a multipart/alternative: the plain
// text, unless it is a placeholder ("This is an HTML message", "view it in
// your browser") next to an HTML version with the real text.
func alternativeText(texts []string, kinds []int) (string, int) {
	plain, html := -1, -1
	for i, k := range kinds {
		if k == kindPlain && plain < 0 {
			plain = i
		}
		if k == kindHTML && html < 0 {
			html = i
		}
	}
	switch {
	case plain >= 0 && html >= 0 && placeholder(texts[plain], texts[html]):
		return texts[html], kindHTML
	case plain >= 0:
		return texts[plain], kindPlain
	case html >= 0:
		return texts[html], kindHTML
	}
	return texts[0], kinds[0]
}

// placeholderWords is the most words a placeholder has: a sentence or two
// telling the reader to use an HTML client. A real message's plain text
// version is rarely that short when its HTML says much more.
const placeholderWords = 25

// placeholder reports whether the plain text version says too little to
// be the message: a few words where the HTML version has over twice
// as many.
func placeholder(plain, html string) bool {
	p, h := len(strings.Fields(plain)), len(strings.Fields(html))
	return p <= placeholderWords && h > 2*p
}

// forwarded reads an inline message/rfc822 part (a forwarded message or a
// digest entry): its subject and sender head its text.
func (c *content) forwarded(raw []byte, depth int) (string, int) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", kindNone
	}
	body, _ := io.ReadAll(m.Body)
	_, params := mediaType(m.Header.Get("Content-Type"))
	var head strings.Builder
	for _, k := range []string{"From", "Date", "Subject"} {
		if v := m.Header.Get(k); v != "" {
			head.WriteString(k + ": " + headerText(v, params["charset"]) + "\n")
		}
	}
	text, kind := c.node(textproto.MIMEHeader(m.Header), body, depth+1)
	return head.String() + "\n" + text, kind
}

// mediaType parses a Content-Type leniently: a value mime.ParseMediaType
// rejects still gives its type and charset. A missing type is text/plain,
// as RFC 2045 says.
func mediaType(v string) (string, map[string]string) {
	if strings.TrimSpace(v) == "" {
		return "text/plain", map[string]string{}
	}
	media, params, err := mime.ParseMediaType(v)
	if err == nil {
		return media, params
	}
	// The type is the first word: "TEXT/PLAIN charset=US-ASCII", with
	// its ';' missing, is text/plain.
	media = strings.ToLower(strings.TrimSpace(strings.Split(v, ";")[0]))
	if f := strings.Fields(media); len(f) > 0 {
		media = f[0]
	}
	params = map[string]string{}
	for key, re := range paramRes {
		if m := re.FindStringSubmatch(v); m != nil {
			params[key] = strings.TrimSpace(m[1])
		}
	}
	if !strings.Contains(media, "/") {
		media = "text/plain"
	}
	return media, params
}

var paramRes = map[string]*regexp.Regexp{
	"charset":  regexp.MustCompile(`(?i)\bcharset\s*=\s*"?([^";\s]+)`),
	"boundary": regexp.MustCompile(`(?i)\bboundary\s*=\s*"?([^";]+)`),
	"name":     regexp.MustCompile(`(?i)\bname\s*=\s*"?([^";]+)`),
}

// decodeTransfer undoes the Content-Transfer-Encoding of a body.
func decodeTransfer(h textproto.MIMEHeader, body []byte) []byte {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		return decodeBase64(body)
	case "quoted-printable":
		return decodeQuotedPrintable(body)
	}
	return body
}

var metaCharsetRe = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)`)

// metaCharset finds the charset an HTML body declares in a <meta> tag near
// its start, for HTML parts whose MIME header names none.
func metaCharset(b []byte) string {
	if m := metaCharsetRe.FindSubmatch(b[:min(len(b), 4096)]); m != nil {
		return string(m[1])
	}
	return ""
}

// Bounds on the links a message's metadata lists.
const (
	maxHosts    = 20
	maxLinkScan = 100000
)

var urlRe = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"')\]]+`)

// addHost adds the host of the URL raw to hosts, lowercased and once, up
// to maxHosts.
func addHost(hosts *[]string, raw string) {
	if hosts == nil || len(*hosts) >= maxHosts {
		return
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return
	}
	h := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if h == "" || len(h) > 253 || slices.Contains(*hosts, h) {
		return
	}
	*hosts = append(*hosts, h)
}
