package classify

import (
	"context"
	"encoding/json"
	"math"
	"strings"

	"github.com/engram-kb/engram"
)

// MaxContentBytes is how much of a document's content the rules read. The
// opening of a message carries its character; reading a 5 MiB attachment
// dump to the end would only make a batch of 10,000 slow.
const MaxContentBytes = 20000

// Thresholds of the verdict; doc.go explains them.
const (
	minEvidence     = 2.0
	minSpamEvidence = 4.0
	minLead         = 1.0
	// leadScale is the lead at which confidence has covered 63% of the
	// way from 0.5 to maxConfidence.
	leadScale     = 3.0
	maxConfidence = 0.97
	// closeRatio is the runner-up's share of the winner's points from
	// which a result is borderline whatever its confidence.
	closeRatio = 0.6
	// ctxEvery is how many documents are classified between checks of
	// the context: often enough to stop promptly, rare enough to cost
	// nothing.
	ctxEvery = 256
)

// Rules is the built-in classifier: fixed, documented, weighted rules over
// sender domain, source type and the words and shape of a document (see
// the package documentation). It is deterministic and makes no network
// calls. The zero value is ready to use and safe for concurrent use.
type Rules struct{}

// New returns a Rules classifier.
func New() *Rules { return &Rules{} }

var _ engram.Classifier = (*Rules)(nil)

// Classify classifies docs in order, one result each. It returns
// invalid_argument when settings are not valid JSON of the expected shape,
// and the context's error when ctx is cancelled.
func (*Rules) Classify(ctx context.Context, settings json.RawMessage, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
	cfg, err := parseSettings(settings)
	if err != nil {
		return nil, err
	}
	out := make([]engram.ClassifyResult, len(docs))
	err = inParallel(ctx, len(docs), func(from, to int) error {
		s := &scorer{cfg: &cfg, hits: make([]bool, len(phraseRules)), groupPoints: make([]float64, len(phraseGroups))}
		for i := from; i < to; i++ {
			if (i-from)%ctxEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			out[i] = s.classify(&docs[i])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// evidence is one rule that fired.
type evidence struct {
	class  class
	weight float64
	text   string
	// clause marks evidence that reads as its own sentence ("sender
	// domain gmail.com is webmail") rather than a signal in a list.
	clause bool
}

// scorer holds the buffers reused across the documents of one batch.
type scorer struct {
	cfg      *config
	lower    []byte
	words    []span
	hits     []bool
	hitList  []int
	evidence []evidence
	scores   [numClasses]float64
	// groupPoints is what each phrase group gave so far, for its limit.
	groupPoints []float64
}

func (s *scorer) add(c class, weight float64, text string, clause bool) {
	s.scores[c] += weight
	s.evidence = append(s.evidence, evidence{c, weight, text, clause})
}

// hit records a phrase rule once per document.
func (s *scorer) hit(r int) {
	if s.hits[r] {
		return
	}
	s.hits[r] = true
	s.hitList = append(s.hitList, r)
	p := &phraseRules[r]
	w := p.weight
	if limit := phraseGroups[p.group].limit; limit > 0 {
		room := limit - s.groupPoints[p.group]
		if room <= 0 {
			return
		}
		w = math.Copysign(min(math.Abs(w), room), w)
	}
	s.groupPoints[p.group] += math.Abs(w)
	s.add(p.class, w, p.label, false)
}

func (s *scorer) classify(d *engram.ClassifyInput) engram.ClassifyResult {
	for _, r := range s.hitList {
		s.hits[r] = false
	}
	s.hitList = s.hitList[:0]
	s.evidence = s.evidence[:0]
	s.scores = [numClasses]float64{}
	clear(s.groupPoints)

	s.sender(senderDomain(d.SenderEmail, d.Sender))
	if workSources[d.SourceType] {
		s.add(work, weightWorkSource, "source "+d.SourceType+" is a work tool", true)
	}
	st := s.tokenize(d.Title)
	s.match(&anyMatcher)
	s.match(&subjectMatcher)
	s.subjectShape(d.Title, st)
	body := d.Content
	if len(body) > MaxContentBytes {
		body = body[:MaxContentBytes]
	}
	st = s.tokenize(body)
	s.match(&anyMatcher)
	s.bodyShape(st)
	return s.verdict()
}

func (s *scorer) sender(domain string) {
	if domain == "" {
		return
	}
	weights := [numClasses]float64{weightTenantDomain, weightTenantDomain, weightSpamDomain}
	texts := [numClasses]string{" is a work domain", " is a personal domain", " is a spam domain"}
	listed := false
	for c, list := range s.cfg.domains {
		for _, d := range list {
			if matches(domain, d) {
				s.add(class(c), weights[c], "sender domain "+domain+texts[c], true)
				listed = true
				break
			}
		}
	}
	// The tenant's own lists are authoritative: a company that runs on
	// gmail.com lists it as a work domain and it is not webmail then.
	if !listed && isWebmail(domain) {
		s.add(personal, weightWebmail, "sender domain "+domain+" is webmail", true)
	}
}

func (s *scorer) subjectShape(title string, st textStats) {
	if st.letters >= 8 && st.upper*10 >= st.letters*9 {
		s.add(spam, weightCapsSubject, "all-caps subject", false)
	}
	if st.bangs >= 2 {
		s.add(spam, weightBangsSubject, "'!' twice in subject", false)
	}
	if st.money > 0 {
		s.add(spam, weightMoneySubject, "money in subject", false)
	}
	// Bulk senders pad the subject with spaces and a random tag so that
	// each copy differs; people do not type runs of spaces.
	if strings.Contains(strings.TrimSpace(title), "     ") {
		s.add(spam, weightPadSubject, "padded subject", false)
	}
	// A reply belongs to a conversation, which spam rarely has.
	if len(title) >= 3 && strings.EqualFold(title[:3], "re:") {
		s.add(spam, weightReply, "reply", false)
	}
}

func (s *scorer) bodyShape(st textStats) {
	if st.dollars > 0 {
		s.add(spam, weightDollars, "'$$$'", false)
	}
	if st.bangRuns > 0 {
		s.add(spam, weightBangRun, "'!!!'", false)
	}
	if st.bangs >= 10 {
		s.add(spam, weightManyBangs, "many '!'", false)
	}
	if st.money >= 2 {
		s.add(spam, weightMoneyBody, "money amounts", false)
	}
	if st.letters >= 200 && st.upper*10 >= st.letters*4 {
		s.add(spam, weightShouting, "shouting body", false)
	}
	if st.tags >= 10 && st.tagBytes*10 >= st.bytes*4 {
		s.add(spam, weightHTMLHeavy, "HTML-heavy body", false)
	}
}

// verdict turns the scores into a result; see "Verdict" in doc.go.
func (s *scorer) verdict() engram.ClassifyResult {
	order := s.ranking()
	best, second := s.scores[order[0]], s.scores[order[1]]
	need := minEvidence
	if order[0] == spam {
		need = minSpamEvidence
	}
	if best < need || best-second < minLead {
		// Some evidence earns a little more confidence than none, but
		// never enough to pass for a verdict.
		conf := 0.2 + 0.25*(1-math.Exp(-best/4))
		prefix := "weak evidence: "
		if best >= need {
			prefix = "conflicting evidence: "
		}
		return engram.ClassifyResult{
			Classification: engram.ClassUnknown,
			Confidence:     round(conf),
			Reason:         s.reason(order, prefix),
			IsBorderline:   true,
		}
	}
	// Confidence grows with the lead over the runner-up, but a verdict
	// that barely clears its minimum evidence stays near a coin flip
	// however far behind the other classes are.
	strength := min(best-second, best-need+minLead)
	conf := 0.5 + (maxConfidence-0.5)*(1-math.Exp(-strength/leadScale))
	conf = round(conf)
	return engram.ClassifyResult{
		Classification: classNames[order[0]],
		Confidence:     conf,
		Reason:         s.reason(order, ""),
		IsBorderline:   conf < engram.BorderlineConfidence || second >= closeRatio*best,
	}
}

// ranking orders the classes by score, highest first; ties keep the
// order work, personal, spam so that results are deterministic.
func (s *scorer) ranking() [numClasses]class {
	order := [numClasses]class{work, personal, spam}
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && s.scores[order[j]] > s.scores[order[j-1]]; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	return order
}

// round keeps three decimals: more would claim a precision the rules do
// not have. It cannot reach 1.0 from below maxConfidence.
func round(x float64) float64 { return math.Round(x*1000) / 1000 }
