package classify

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/engram-kb/engram"
)

// Feature space of the learned model (see model.go).
const (
	// featureBits sizes the hashed feature space: 2^18 buckets, so a
	// model holds at most 3 × 262,144 counts (3 MiB) whatever the number
	// of documents it learned from. Collisions at this size cost a text
	// classifier next to nothing (Weinberger et al., 2009).
	featureBits = 18
	numBuckets  = 1 << featureBits
	// modelTextBytes is how much of a body the model reads as words; the
	// rules read MaxContentBytes too.
	modelTextBytes = MaxContentBytes
	// ngramBytes is how much of a body is read as character 4-grams:
	// they catch words the tokenizer cannot split (Chinese, Japanese) and
	// obfuscated spelling ("v1agra"), and the opening is enough for both.
	ngramBytes   = 2000
	maxWordBytes = 30
)

// feature is one hashed feature of a document. label and word say what
// it is for a reason (label "": a feature no person would recognise, such
// as an n-gram); word, when set, is the document's own spelling of it,
// quoted and lower-cased only if the reason names it.
type feature struct {
	bucket uint32
	// n counts the feature's occurrences in the document.
	n     uint32
	label string
	word  string
}

func (f feature) text() string {
	if f.word == "" {
		return f.label
	}
	return f.label + "'" + strings.ToLower(f.word) + "'"
}

// featurizer turns documents into their distinct features, reusing its
// buffers across the documents of a batch.
type featurizer struct {
	rules *scorer
	// seen[b].gen == gen marks bucket b seen in the current document, at
	// out[seen[b].slot]: a constant-time reset per document instead of
	// clearing a set, and one memory access per feature.
	seen  []seenBucket
	gen   uint32
	out   []feature
	lower []byte
	// prev is the hash of the word before, for word pairs (0: none).
	prev uint32
}

func newFeaturizer(cfg *config) *featurizer {
	return &featurizer{
		rules: &scorer{cfg: cfg, hits: make([]bool, len(phraseRules)), groupPoints: make([]float64, len(phraseGroups))},
		seen:  make([]seenBucket, numBuckets),
	}
}

// seenBucket is a bucket's mark in the current document.
type seenBucket struct {
	gen  uint32
	slot int32
}

// FNV-1a, inlined: hashing is most of the cost of a feature.
const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func hashFeature(kind, value string) uint32 {
	return hashValue(hashKind(kind), value)
}

// hashKind is the hash state after a kind and the zero byte that ends it:
// a loop over many values of one kind hashes the kind once.
func hashKind(kind string) uint32 {
	h := uint32(fnvOffset)
	for i := 0; i < len(kind); i++ {
		h = (h ^ uint32(kind[i])) * fnvPrime
	}
	return h * fnvPrime
}

// hashValue finishes the hash of a value of the kind whose state is h.
func hashValue(h uint32, value string) uint32 {
	for i := 0; i < len(value); i++ {
		h = (h ^ uint32(value[i])) * fnvPrime
	}
	return h & (numBuckets - 1)
}

// hashBytes is hashValue over bytes.
func hashBytes(h uint32, value []byte) uint32 {
	for _, c := range value {
		h = (h ^ uint32(c)) * fnvPrime
	}
	return h & (numBuckets - 1)
}

// add adds a feature once per document. text is built only for a new
// feature, by label (a prefix) and value, so that a repeated word costs a
// hash and no allocation.
func (f *featurizer) add(kind, value, text string) {
	f.addBucket(hashFeature(kind, value), text, "")
}

func (f *featurizer) addBucket(b uint32, label, word string) {
	sb := &f.seen[b]
	if sb.gen == f.gen {
		f.out[sb.slot].n++
		return
	}
	*sb = seenBucket{f.gen, int32(len(f.out))}
	f.out = append(f.out, feature{b, 1, label, word})
}

// features returns the document's distinct features and the rules'
// verdict on it, which is one of them.
func (f *featurizer) features(d *engram.ClassifyInput) ([]feature, engram.ClassifyResult) {
	f.gen++
	if f.gen == 0 {
		// Wrapped: stamps of 2^32 documents ago could match.
		clear(f.seen)
		f.gen = 1
	}
	f.out = f.out[:0]
	verdict := f.rules.classify(d)
	for _, e := range f.rules.evidence {
		f.add("rule", e.text, "rule "+e.text)
	}
	f.add("verdict", string(verdict.Classification), "")
	if d.SourceType != "" {
		f.add("source", d.SourceType, "")
	}
	if dom := senderDomain(d.SenderEmail, d.Sender); dom != "" {
		f.add("domain", dom, "sender domain "+dom)
	}
	if d.SenderEmail != "" {
		f.add("sender", strings.ToLower(d.SenderEmail), "sender "+strings.ToLower(d.SenderEmail))
	}
	f.headers(d.Metadata)
	f.words("subject", d.Title, "subject word ")
	body := d.Content
	if len(body) > modelTextBytes {
		body = body[:modelTextBytes]
	}
	f.words("word", body, "word ")
	f.ngrams(body[:cutUTF8(body, ngramBytes)])
	return f.out, verdict
}

// cutUTF8 returns the largest n <= max at which s can be cut on a rune
// boundary.
func cutUTF8(s string, max int) int {
	if len(s) <= max {
		return len(s)
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return max
}

func (f *featurizer) words(kind, text, label string) {
	f.prev = 0
	kh := hashKind(kind)
	start := -1
	end := func(i int) {
		w := strings.Trim(text[start:i], "'")
		start = -1
		if len(w) < 2 || len(w) > maxWordBytes {
			return
		}
		f.lower = appendLower(f.lower[:0], w)
		if label == "" {
			w = ""
		}
		h := hashBytes(kh, f.lower)
		f.addBucket(h, label, w)
		if wordPairs && f.prev != 0 {
			// A pair's bucket mixes its two words' hashes in order.
			f.addBucket((f.prev*fnvPrime^h^0x9e3779b9)*fnvPrime&(numBuckets-1), "", "")
		}
		f.prev = h | numBuckets
	}
	for i, r := range text {
		word := r == '\'' || r == '$' || (r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')) ||
			(r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)))
		if word && start < 0 {
			start = i
		}
		if !word && start >= 0 {
			end(i)
		}
	}
	if start >= 0 {
		end(len(text))
	}
}

// appendLower appends s in lower case.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return append(dst[:0], strings.ToLower(s)...)
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func (f *featurizer) ngrams(text string) {
	var win [4]rune
	var buf [16]byte
	kh := hashKind("ngram")
	n := 0
	space := true
	for _, r := range text {
		if r < utf8.RuneSelf {
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
		} else {
			r = unicode.ToLower(r)
		}
		if r == ' ' || r == '\n' || r == '\t' || r == '\r' || (r >= utf8.RuneSelf || r == '\v' || r == '\f') && unicode.IsSpace(r) {
			if space {
				continue
			}
			r, space = ' ', true
		} else {
			space = false
		}
		win[0], win[1], win[2], win[3] = win[1], win[2], win[3], r
		if n++; n >= 4 {
			g := buf[:0]
			for _, r := range win {
				g = utf8.AppendRune(g, r)
			}
			f.addBucket(hashBytes(kh, g), "", "")
		}
	}
}

// headers reads the headers a mail connector keeps in metadata.headers.
func (f *featurizer) headers(meta json.RawMessage) {
	if len(meta) == 0 || (!strings.Contains(string(meta), `"headers"`) && !strings.Contains(string(meta), `"link_hosts"`)) {
		return
	}
	var m struct {
		MessageID string   `json:"message_id"`
		LinkHosts []string `json:"link_hosts"`
		Headers   struct {
			Subject         string   `json:"subject"`
			From            string   `json:"from"`
			ListID          string   `json:"list_id"`
			ListUnsubscribe string   `json:"list_unsubscribe"`
			Precedence      string   `json:"precedence"`
			XMailer         string   `json:"x_mailer"`
			To              string   `json:"to"`
			Date            string   `json:"date"`
			ReceivedHops    *int     `json:"received_hops"`
			ContentTypes    []string `json:"content_types"`
		} `json:"headers"`
	}
	if json.Unmarshal(meta, &m) != nil {
		return
	}
	for _, host := range m.LinkHosts {
		f.add("link_host", host, "a link to "+host)
		if labels := strings.Split(host, "."); len(labels) > 2 {
			d := strings.Join(labels[len(labels)-2:], ".")
			f.add("link_domain", d, "a link to "+d)
		}
	}
	f.add("links", strconv.Itoa(min(len(m.LinkHosts), 5)), "")
	if messageIDs {
		f.messageID(m.MessageID)
	}
	h := m.Headers
	if h.ListID != "" {
		f.add("list", "", "a mailing list")
		f.add("list_id", strings.ToLower(h.ListID), "mailing list "+h.ListID)
	}
	if h.ListUnsubscribe != "" {
		f.add("unsubscribe_header", "", "an unsubscribe header")
	}
	if p := strings.ToLower(strings.TrimSpace(h.Precedence)); p != "" {
		f.add("precedence", p, "precedence "+p)
	}
	if fs := strings.Fields(h.XMailer); len(fs) > 0 {
		m := strings.ToLower(fs[0])
		f.add("mailer", m, "mailer "+m)
	} else {
		f.add("mailer", "", "")
	}
	if h.To == "" {
		f.add("no_to", "", "no To header")
	}
	if h.Date == "" {
		f.add("no_date", "", "no Date header")
	} else {
		// The shape of the date (digits as 9) tells one mailer's format
		// from another's.
		f.add("date_shape", strings.Map(func(r rune) rune {
			if unicode.IsDigit(r) {
				return '9'
			}
			return r
		}, h.Date), "")
	}
	f.words("from", h.From, "sender name ")
	f.words("to", h.To, "")
	if h.ReceivedHops != nil {
		f.add("hops", strconv.Itoa(min(*h.ReceivedHops, 12)), "")
	}
	for _, t := range h.ContentTypes {
		f.add("part", t, "a "+t+" part")
	}
	if strings.Contains(strings.TrimSpace(h.Subject), "  ") {
		f.add("subject_spacing", "", "a subject padded with spaces")
	}
}

// messageID adds the Message-ID's domain and its shape (letters as a,
// digits as 9, runs collapsed): each mail program writes its own, and
// bulk senders often write one no real mail program would.
func (f *featurizer) messageID(id string) {
	id = strings.Trim(strings.TrimSpace(id), "<>")
	if id == "" {
		f.add("msgid", "", "no Message-ID")
		return
	}
	local, dom, ok := strings.Cut(id, "@")
	if ok {
		dom = strings.ToLower(dom)
		f.add("msgid_domain", dom, "")
		if labels := strings.Split(dom, "."); len(labels) > 2 {
			f.add("msgid_domain", strings.Join(labels[len(labels)-2:], "."), "")
		}
	} else {
		f.add("msgid_domain", "", "")
	}
	shape := make([]byte, 0, 32)
	for i := 0; i < len(local) && len(shape) < 32; i++ {
		c := local[i]
		switch {
		case c >= '0' && c <= '9':
			c = '9'
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			c = 'a'
		}
		if n := len(shape); n == 0 || shape[n-1] != c {
			shape = append(shape, c)
		}
	}
	f.add("msgid_shape", string(shape), "")
}
