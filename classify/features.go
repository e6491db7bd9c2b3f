package classify

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

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
	label  string
	word   string
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
	// stamp[b] == gen marks bucket b seen in the current document: a
	// constant-time reset per document instead of clearing a set.
	stamp []uint32
	gen   uint32
	out   []feature
	lower []byte
}

func newFeaturizer(cfg *config) *featurizer {
	return &featurizer{
		rules: &scorer{cfg: cfg, hits: make([]bool, len(phraseRules)), groupPoints: make([]float64, len(phraseGroups))},
		stamp: make([]uint32, numBuckets),
	}
}

// FNV-1a, inlined: hashing is most of the cost of a feature.
const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func hashFeature(kind, value string) uint32 {
	h := uint32(fnvOffset)
	for i := 0; i < len(kind); i++ {
		h = (h ^ uint32(kind[i])) * fnvPrime
	}
	h *= fnvPrime // a zero byte between kind and value
	for i := 0; i < len(value); i++ {
		h = (h ^ uint32(value[i])) * fnvPrime
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
	if f.stamp[b] == f.gen {
		return
	}
	f.stamp[b] = f.gen
	f.out = append(f.out, feature{b, label, word})
}

// features returns the document's distinct features and the rules'
// verdict on it, which is one of them.
func (f *featurizer) features(d *engram.ClassifyInput) ([]feature, engram.ClassifyResult) {
	f.gen++
	if f.gen == 0 {
		// Wrapped: stamps of 2^32 documents ago could match.
		clear(f.stamp)
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
		f.addBucket(hashFeature(kind, unsafeString(f.lower)), label, w)
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

// unsafeString views b as a string for hashing, without a copy; the
// string must not outlive b's next change.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (f *featurizer) ngrams(text string) {
	var win [4]rune
	var buf [16]byte
	n := 0
	space := true
	for _, r := range text {
		r = unicode.ToLower(r)
		if unicode.IsSpace(r) {
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
			f.addBucket(hashFeature("ngram", unsafeString(g)), "", "")
		}
	}
}

// headers reads the headers a mail connector keeps in metadata.headers.
func (f *featurizer) headers(meta json.RawMessage) {
	if len(meta) == 0 || (!strings.Contains(string(meta), `"headers"`) && !strings.Contains(string(meta), `"link_hosts"`)) {
		return
	}
	var m struct {
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
