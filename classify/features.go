package classify

import (
	"encoding/json"
	"hash/fnv"
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

// feature is one hashed feature of a document; text says what it is for
// a reason, "" for a feature no person would recognise (n-grams).
type feature struct {
	bucket uint32
	text   string
}

// featurizer turns documents into their distinct features, reusing its
// buffers across the documents of a batch.
type featurizer struct {
	rules *scorer
	seen  map[uint32]bool
	out   []feature
}

func newFeaturizer(cfg *config) *featurizer {
	return &featurizer{
		rules: &scorer{cfg: cfg, hits: make([]bool, len(phraseRules)), groupPoints: make([]float64, len(phraseGroups))},
		seen:  map[uint32]bool{},
	}
}

func hashFeature(kind, value string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(value))
	return h.Sum32() & (numBuckets - 1)
}

func (f *featurizer) add(kind, value, text string) {
	b := hashFeature(kind, value)
	if f.seen[b] {
		return
	}
	f.seen[b] = true
	f.out = append(f.out, feature{b, text})
}

// features returns the document's distinct features and the rules'
// verdict on it, which is one of them.
func (f *featurizer) features(d *engram.ClassifyInput) ([]feature, engram.ClassifyResult) {
	clear(f.seen)
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
	for i, r := range text + " " {
		word := unicode.IsLetter(r) || unicode.IsDigit(r) || r == '$' || r == '\''
		if word && start < 0 {
			start = i
		}
		if !word && start >= 0 {
			w := strings.ToLower(strings.Trim(text[start:i], "'"))
			start = -1
			if len(w) < 2 || len(w) > maxWordBytes {
				continue
			}
			f.add(kind, w, label+"'"+w+"'")
		}
	}
}

func (f *featurizer) ngrams(text string) {
	var win [4]rune
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
			f.add("ngram", string(win[:]), "")
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
