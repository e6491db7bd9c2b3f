package mail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/textproto"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector/internal/sanitize"
)

// Limits of the documents table that are not exported by engram; an item
// that broke them would fail the whole batch at the store.
const (
	maxSenderBytes    = 500
	maxEmailBytes     = 320
	maxRecipientBytes = 500
	maxMessageIDBytes = 500
	maxReferences     = 20
)

// message is one parsed e-mail: the item without its external id, which
// depends on the other messages of the source.
type message struct {
	// id is the Message-ID without angle brackets, "" when absent.
	id   string
	item engram.SourceItem
	// dateRaw and fromRaw are the raw headers, part of the text hash that
	// tells duplicates apart.
	dateRaw, fromRaw string
	meta             map[string]any
}

// errNotMail marks a file that parses as a header but has none of the
// headers of an e-mail: a README or other stray file in a mail folder.
var errNotMail = errors.New("not an e-mail message: it has none of the From, To, Subject, Date or Message-ID headers")

// addressParser reads addresses with display names in any charset.
var addressParser = &mail.AddressParser{WordDecoder: wordDecoder}

// parseMessage reads one raw RFC 5322 message. Its errors are failure
// reasons for the user.
func parseMessage(raw []byte) (*message, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, errors.New("malformed header: " + err.Error())
	}
	h := m.Header
	if h.Get("From") == "" && h.Get("To") == "" && h.Get("Subject") == "" && h.Get("Date") == "" && h.Get("Message-Id") == "" {
		return nil, errNotMail
	}
	_, params := mediaType(h.Get("Content-Type"))
	charset := params["charset"] // for raw 8-bit headers
	body, err := io.ReadAll(m.Body)
	if err != nil {
		return nil, errors.New("unreadable body: " + err.Error())
	}
	c := extract(textproto.MIMEHeader(h), stripBOM(body))
	text := sanitize.String(c.text)
	if len(text) > engram.MaxContentBytes {
		return nil, errors.New("the message text is over the 5 MiB limit of a document")
	}

	msg := &message{id: messageID(h.Get("Message-Id")), meta: map[string]any{}, dateRaw: h.Get("Date"), fromRaw: h.Get("From")}
	name, email := parseSender(h.Get("From"), charset)
	to := addresses(h.Get("To"), charset)
	cc := addresses(h.Get("Cc"), charset)
	recipients := dedupe(append(to, cc...))
	msg.item = engram.SourceItem{
		Title:           sanitize.Title(headerText(h.Get("Subject"), charset), "(no subject)"),
		Content:         text,
		Sender:          sanitize.Truncate(sanitize.Line(name), maxSenderBytes),
		SenderEmail:     email,
		Recipients:      recipients[:min(len(recipients), engram.MaxRecipients)],
		SourceCreatedAt: parseDate(h.Get("Date")),
	}
	if msg.item.Sender == "" {
		msg.item.Sender = email
	}
	if msg.id != "" {
		msg.meta["message_id"] = msg.id
	}
	if v := messageID(h.Get("In-Reply-To")); v != "" {
		msg.meta["in_reply_to"] = v
	}
	if refs := messageIDs(h.Get("References")); len(refs) > 0 {
		// The last references are the closest ancestors.
		msg.meta["references"] = refs[max(0, len(refs)-maxReferences):]
	}
	if len(cc) > 0 {
		msg.meta["cc"] = dedupe(cc)
	}
	if labels := h.Get("X-Gmail-Labels"); labels != "" {
		msg.meta["labels"] = splitLabels(headerText(labels, charset))
	}
	msg.meta["headers"] = classifierHeaders(h, charset, c.types)
	if len(c.hosts) > 0 {
		msg.meta["link_hosts"] = c.hosts
	}
	if c.hasAttachments {
		msg.meta["has_attachments"] = true
		if len(c.attachmentNames) > 0 {
			msg.meta["attachment_names"] = c.attachmentNames
		}
	}
	return msg, nil
}

// maxHeaderBytes bounds each header kept for the classifier.
const maxHeaderBytes = 1000

// classifierHeaders keeps the headers a classifier reads, as sent: the
// subject with its original spacing (the title is tidied), the mailing
// list and bulk markers, the mailer, how many relays the message passed
// (Received hops) and the media types of its parts. Absent headers are
// left out.
func classifierHeaders(h mail.Header, charset string, types []string) map[string]any {
	out := map[string]any{}
	for _, k := range []struct{ name, key string }{
		{"From", "from"}, {"To", "to"}, {"Subject", "subject"}, {"Date", "date"},
		{"List-Id", "list_id"}, {"List-Unsubscribe", "list_unsubscribe"},
		{"Precedence", "precedence"}, {"X-Mailer", "x_mailer"},
	} {
		if v := h.Get(k.name); v != "" {
			out[k.key] = sanitize.Truncate(sanitize.String(headerText(v, charset)), maxHeaderBytes)
		}
	}
	out["received_hops"] = len(h["Received"])
	if len(types) > 0 {
		out["content_types"] = types
	}
	return out
}

var (
	emailRe = regexp.MustCompile(`[A-Za-z0-9._%+'=/!#$&*^{}|~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*`)
	idRe    = regexp.MustCompile(`<([^<>\s]+)>`)
)

// parseSender reads a From header. When net/mail cannot parse it, the first
// thing that looks like an address is the e-mail and the rest of the text
// the sender's name, so that a malformed From still shows who sent it.
func parseSender(raw, charset string) (name, email string) {
	if strings.TrimSpace(raw) == "" {
		return "", ""
	}
	if list, err := addressParser.ParseList(rawHeader(raw, charset)); err == nil && len(list) > 0 {
		return list[0].Name, cleanEmail(list[0].Address)
	}
	text := sanitize.Line(headerText(raw, charset))
	email = emailRe.FindString(text)
	if email == "" {
		return text, ""
	}
	name = strings.Trim(strings.Replace(text, email, "", 1), ` "'<>()`)
	return name, cleanEmail(email)
}

// addresses returns the e-mail addresses of an address-list header,
// lowercased; a list net/mail rejects is searched for addresses instead.
func addresses(raw, charset string) []string {
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	var out []string
	if list, err := addressParser.ParseList(rawHeader(raw, charset)); err == nil {
		for _, a := range list {
			out = append(out, a.Address)
		}
	} else {
		out = emailRe.FindAllString(rawHeader(raw, charset), -1)
	}
	clean := out[:0]
	for _, a := range out {
		if a = cleanEmail(a); a != "" && len(a) <= maxRecipientBytes {
			clean = append(clean, a)
		}
	}
	return clean
}

// cleanEmail lowercases an address and drops one engram would refuse.
func cleanEmail(a string) string {
	a = strings.ToLower(sanitize.Line(a))
	if !strings.Contains(a, "@") || len(a) > maxEmailBytes {
		return ""
	}
	return a
}

func dedupe(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// messageID returns the first "<id>" of a header without its brackets, or
// the bare value when it has none; "" when absent or too long to be a key.
func messageID(raw string) string {
	id := strings.TrimSpace(raw)
	if m := idRe.FindStringSubmatch(id); m != nil {
		id = m[1]
	} else if strings.ContainsAny(id, " \t") {
		id = ""
	}
	id = sanitize.String(id)
	if len(id) > maxMessageIDBytes {
		return ""
	}
	return id
}

// messageIDs returns every "<id>" of a References header.
func messageIDs(raw string) []string {
	var out []string
	for _, m := range idRe.FindAllStringSubmatch(raw, -1) {
		out = append(out, sanitize.String(m[1]))
	}
	return out
}

func splitLabels(s string) []string {
	var out []string
	for _, l := range strings.Split(s, ",") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// dateLayouts are the malformed Date forms seen in real mail, tried after
// net/mail.ParseDate fails.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon, 2 Jan 06 15:04:05 MST",
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 MST",
	"2 Jan 06 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05",
	"2 Jan 2006 15:04:05",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon, Jan 2 2006 15:04:05 -0700",
	"Monday, January 2, 2006 15:04:05 -0700",
	"Mon, 2 January 2006 15:04:05 -0700",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05Z07:00",
	"2006/01/02 Mon 15:04:05 MST",
	"2006/01/02 15:04:05",
}

var (
	dateComment = regexp.MustCompile(`\([^)]*\)`)
	// dateCore finds "day month year hour:minute[:second] [offset]" in a
	// Date whose other parts are broken ("+-0500", "01800", "Greenwich
	// Standard Time").
	dateCore = regexp.MustCompile(`(\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\.?\s+(\d{2,4})\s+(\d{1,2}):(\d\d)(?::(\d\d))?(?:\s*([+-]\d{4})\b)?`)
)

// parseDate reads a Date header; nil when absent or beyond repair. When
// only the zone is broken, the time is read as UTC: hours off beats none.
func parseDate(raw string) *time.Time {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil
	}
	if t, err := mail.ParseDate(raw); err == nil {
		return utc(t)
	}
	s := strings.Join(strings.Fields(dateComment.ReplaceAllString(raw, " ")), " ")
	s = strings.TrimSuffix(strings.ReplaceAll(s, ",,", ","), ",")
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return utc(t)
		}
	}
	m := dateCore.FindStringSubmatch(s)
	if m == nil {
		return nil
	}
	year, _ := strconv.Atoi(m[3])
	switch {
	case year < 50:
		year += 2000
	case year < 100:
		year += 1900
	}
	sec, zone := m[6], m[7]
	if sec == "" {
		sec = "00"
	}
	if zone == "" {
		zone = "+0000"
	}
	v := fmt.Sprintf("%s %s %04d %s:%s:%s %s", m[1], m[2], year, m[4], m[5], sec, zone)
	if t, err := time.Parse("2 Jan 2006 15:04:05 -0700", v); err == nil {
		return utc(t)
	}
	return nil
}

func utc(t time.Time) *time.Time {
	u := t.UTC()
	return &u
}
