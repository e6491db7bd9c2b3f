// Package analyze is engram's built-in gap analyzer. It reads a batch of
// work documents and proposes knowledge gaps from plain text rules, with
// no network and no model: decisions stated without a reason, TBD/TODO
// markers and open questions left in documents, acronyms and system names
// used but never defined, and processes referred to but never described.
//
// It looks at one batch at a time: an acronym defined in a document of
// another batch counts as undefined. Batches are read in id order, so the
// same documents give the same proposals on every run, and the
// fingerprints make a second run find the gaps of the first.
package analyze

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/engram-kb/engram"
)

// Name is how gaps made by this analyzer name it in their context.
const Name = "builtin"

// Analyzer is the built-in analyzer. The zero value is ready to use.
type Analyzer struct{}

// New returns the built-in analyzer.
func New() *Analyzer { return &Analyzer{} }

var _ engram.GapAnalyzer = (*Analyzer)(nil)

// sentence is one sentence of one document.
type sentence struct {
	doc  string
	text string
	next string // the sentence after it in the same document, for reasons given there
}

// Analyze proposes gaps for docs. Proposals come in a fixed order for a
// given input.
func (a *Analyzer) Analyze(ctx context.Context, docs []engram.AnalysisDocument) ([]engram.GapProposal, error) {
	var sents []sentence
	var corpus strings.Builder
	for _, d := range docs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ss := splitSentences(d.Content)
		for i, s := range ss {
			next := ""
			if i+1 < len(ss) {
				next = ss[i+1]
			}
			sents = append(sents, sentence{doc: d.ID, text: s, next: next})
		}
		corpus.WriteString(d.Title + "\n" + d.Content + "\n")
	}
	text := corpus.String()
	var out []engram.GapProposal
	for _, s := range sents {
		out = append(out, sentenceRules(s)...)
	}
	out = append(out, acronyms(sents, text)...)
	out = append(out, systems(sents, text)...)
	out = append(out, processes(sents, text)...)
	return out, nil
}

var (
	decisionRe = regexp.MustCompile(`(?i)\b(?:we|the team|they|it was|management|leadership)\s+(?:have\s+|has\s+|had\s+)?(?:decided|agreed|chose|opted|settled)\b|\bdecision\s+(?:is|was|has been)\b|\bwe(?:'ll| will)\s+(?:go with|switch to|move to|adopt|standardi[sz]e on)\b`)
	reasonRe   = regexp.MustCompile(`(?i)\b(?:because|since|due to|so that|in order to|as a result|reason|reasons|rationale|given that|to avoid|to reduce|to improve|to save|to cut|thanks to|owing to|why)\b`)
	markerRe   = regexp.MustCompile(`\b(?:TBD|TBC|TODO|FIXME|XXX)\b|(?i:\b(?:to be (?:decided|determined|confirmed|defined)|open question|still unclear|not yet decided|nobody knows|unknown owner)\b)`)
	questionRe = regexp.MustCompile(`(?i)^(?:who|what|when|where|why|how|which|should|do|does|did|is|are|can|could|will|would|has|have)\b`)
)

// sentenceRules are the rules that look at one sentence.
func sentenceRules(s sentence) []engram.GapProposal {
	var out []engram.GapProposal
	quote := clip(s.text, 200)
	if decisionRe.MatchString(s.text) && !reasonRe.MatchString(s.text) && !reasonRe.MatchString(s.next) {
		out = append(out, engram.GapProposal{
			Category: engram.GapRationale, Subject: "decision " + quote, Rule: "decision_without_rationale", Priority: 4,
			Title:       "Why: " + clip(s.text, 120),
			Description: "A decision is stated without its reason: “" + quote + "”",
			Questions:   []string{"Why was this decided: “" + quote + "”?", "Which alternatives were considered, and why were they rejected?", "Who made the decision, and when?"},
			Evidence:    []engram.GapEvidence{{DocumentID: s.doc, Sentence: s.text}},
		})
	}
	if markerRe.MatchString(s.text) {
		out = append(out, engram.GapProposal{
			Category: categoryFor(s.text, engram.GapDecision), Subject: "open " + quote, Rule: "open_marker", Priority: 3,
			Title:       "Left open: " + clip(s.text, 110),
			Description: "A document leaves this open: “" + quote + "”",
			Questions:   []string{"What is the answer to: “" + quote + "”?", "Who can settle it?"},
			Evidence:    []engram.GapEvidence{{DocumentID: s.doc, Sentence: s.text}},
		})
	} else if strings.HasSuffix(s.text, "?") && questionRe.MatchString(s.text) && len(strings.Fields(s.text)) >= 4 {
		out = append(out, engram.GapProposal{
			Category: categoryFor(s.text, engram.GapContext), Subject: "question " + quote, Rule: "open_question", Priority: 2,
			Title:       "Open question: " + clip(s.text, 105),
			Description: "A document asks this and the knowledge base has no answer recorded: “" + quote + "”",
			Questions:   []string{quote},
			Evidence:    []engram.GapEvidence{{DocumentID: s.doc, Sentence: s.text}},
		})
	}
	return out
}

// categoryRules pick the category of an open point from its words; the
// first that matches wins.
var categoryRules = []struct {
	re *regexp.Regexp
	c  engram.GapCategory
}{
	{regexp.MustCompile(`(?i)\b(?:owner|owns|owned|responsible|point of contact|contact person|who)\b`), engram.GapRelationship},
	{regexp.MustCompile(`(?i)\b(?:deadline|due date|date|when|timeline|schedule|eta|by q[1-4]|launch|release date)\b`), engram.GapTimeline},
	{regexp.MustCompile(`(?i)\b(?:result|outcome|impact|metric|kpi|success|worked)\b`), engram.GapOutcome},
	{regexp.MustCompile(`(?i)\b(?:why|reason|rationale)\b`), engram.GapRationale},
	{regexp.MustCompile(`(?i)\b(?:process|procedure|steps|workflow|runbook|checklist)\b`), engram.GapProcess},
	{regexp.MustCompile(`(?i)\b(?:api|database|server|deploy\w*|config\w*|architecture|schema|infra\w*|latency|migration|bug)\b`), engram.GapTechnical},
	{regexp.MustCompile(`(?i)\b(?:decide|decision|choose|option|which)\b`), engram.GapDecision},
}

func categoryFor(text string, fallback engram.GapCategory) engram.GapCategory {
	for _, r := range categoryRules {
		if r.re.MatchString(text) {
			return r.c
		}
	}
	return fallback
}

var acronymRe = regexp.MustCompile(`\b[A-Z][A-Z0-9]{1,5}\b`)

// commonAcronyms are known to every reader; asking about them would be
// noise.
var commonAcronyms = set("OK", "TBD", "TBC", "TODO", "FIXME", "XXX", "FYI", "ASAP", "CEO", "CTO", "CFO", "COO", "VP", "HR", "IT", "QA",
	"API", "URL", "HTTP", "HTTPS", "HTML", "CSS", "JSON", "XML", "SQL", "PDF", "CSV", "USA", "US", "UK", "EU", "AM", "PM", "ETA", "FAQ",
	"ID", "PR", "UI", "UX", "OS", "AI", "ML", "Q1", "Q2", "Q3", "Q4", "H1", "H2", "KPI", "ROI", "CEST", "CET", "UTC", "GMT", "PST",
	"EST", "NDA", "IP", "TCP", "DNS", "SSH", "VPN", "CPU", "RAM", "GB", "MB", "KB", "TB", "AWS", "GCP", "SDK", "CLI", "RE", "FW", "CC", "BCC", "PS", "NB", "VS")

// acronyms proposes one gap per acronym the batch uses but never defines.
func acronyms(sents []sentence, corpus string) []engram.GapProposal {
	uses := map[string][]sentence{}
	for _, s := range sents {
		if shouting(s.text) {
			continue
		}
		for _, m := range acronymRe.FindAllString(s.text, -1) {
			if commonAcronyms[m] || !hasLetters(m, 2) {
				continue
			}
			uses[m] = append(uses[m], s)
		}
	}
	var out []engram.GapProposal
	for _, acr := range sortedKeys(uses) {
		q := regexp.QuoteMeta(acr)
		defined := regexp.MustCompile(`\(` + q + `s?\)|\b` + q + `\s*\(|\b` + q + `\s+(?:stands for|means|is short for|refers to|is an? |is the )|\b` + q + `\s*[:=–—-]\s`)
		if defined.MatchString(corpus) {
			continue
		}
		prio := 2
		if len(docsOf(uses[acr])) >= 3 {
			prio = 3
		}
		out = append(out, engram.GapProposal{
			Category: engram.GapContext, Subject: "acronym " + acr, Rule: "undefined_acronym", Priority: prio,
			Title:       "What does " + acr + " mean?",
			Description: "“" + acr + "” is used but never defined.",
			Questions:   []string{"What does " + acr + " stand for?", "What is " + acr + ", and where is it documented?"},
			Evidence:    evidence(uses[acr]),
		})
	}
	return out
}

var systemRe = regexp.MustCompile(`\b([A-Z][a-zA-Z0-9]+(?:\s[A-Z][a-zA-Z0-9]+)?)\s(service|system|platform|pipeline|cluster|database|server|dashboard|tool)\b`)

// notNames are capitalised words that start a phrase without naming a
// system ("The service", "Our platform").
var notNames = set("The", "Our", "This", "That", "These", "Those", "New", "Old", "Main", "A", "An", "Each", "Every", "Any",
	"Internal", "External", "Their", "Your", "My", "Its", "Which", "What", "Some", "All", "No", "Legacy", "Current")

// systems proposes one gap per named system nobody says what it is or who
// owns it.
func systems(sents []sentence, corpus string) []engram.GapProposal {
	uses := map[string][]sentence{}
	for _, s := range sents {
		for _, m := range systemRe.FindAllStringSubmatch(s.text, -1) {
			name := m[1]
			if first, _, _ := strings.Cut(name, " "); notNames[first] {
				_, rest, ok := strings.Cut(name, " ")
				if !ok {
					continue
				}
				name = rest
			}
			uses[name+" "+m[2]] = append(uses[name+" "+m[2]], s)
		}
	}
	var out []engram.GapProposal
	for _, sys := range sortedKeys(uses) {
		name, _, _ := strings.Cut(sys, " "+lastWord(sys))
		q := regexp.QuoteMeta(name)
		defined := regexp.MustCompile(`(?i)\b` + q + `(?:\s` + regexp.QuoteMeta(lastWord(sys)) + `)?\s(?:is|was|are)\s(?:a|an|the|our)\b|\b` + q + `\b[^.\n]{0,40}\b(?:owned by|maintained by|run by)\b|\bowner of (?:the )?` + q + `\b|\b` + q + `\b[^.\n]{0,20}\bowner\b`)
		if defined.MatchString(corpus) {
			continue
		}
		out = append(out, engram.GapProposal{
			Category: engram.GapTechnical, Subject: "system " + sys, Rule: "undefined_system", Priority: 3,
			Title:       "What is the " + sys + ", and who owns it?",
			Description: "The " + sys + " is referred to, but no document says what it is or who owns it.",
			Questions:   []string{"What is the " + sys + " and what does it do?", "Who owns the " + sys + "?"},
			Evidence:    evidence(uses[sys]),
		})
	}
	return out
}

var processRe = regexp.MustCompile(`(?i)\b(?:the|our)\s+((?:[a-z][a-z-]+\s){1,3})(process|procedure|workflow|runbook|playbook|checklist)\b`)

// vagueWords make a process reference too vague to ask about ("the whole
// process").
var vagueWords = set("whole", "entire", "same", "usual", "new", "current", "above", "following", "this", "that", "other", "overall", "review", "approval")

// processes proposes one gap per process the batch refers to but never
// describes.
func processes(sents []sentence, corpus string) []engram.GapProposal {
	uses := map[string][]sentence{}
	for _, s := range sents {
		for _, m := range processRe.FindAllStringSubmatch(s.text, -1) {
			words := strings.Fields(strings.ToLower(m[1]))
			if len(words) == 0 || vagueWords[words[0]] || vagueWords[words[len(words)-1]] {
				continue
			}
			uses[strings.Join(words, " ")+" "+strings.ToLower(m[2])] = append(uses[strings.Join(words, " ")+" "+strings.ToLower(m[2])], s)
		}
	}
	var out []engram.GapProposal
	for _, p := range sortedKeys(uses) {
		q := regexp.QuoteMeta(p)
		described := regexp.MustCompile(`(?i)\b` + q + `\s*:|\b` + q + `\s(?:is|consists|works|goes)\b|\bsteps (?:of|for|in) (?:the|our) ` + q + `\b|(?m)^#*\s*` + q + `\s*$`)
		if described.MatchString(corpus) {
			continue
		}
		out = append(out, engram.GapProposal{
			Category: engram.GapProcess, Subject: "process " + p, Rule: "undescribed_process", Priority: 3,
			Title:       "How does the " + p + " work?",
			Description: "The " + p + " is referred to, but no document describes it.",
			Questions:   []string{"What are the steps of the " + p + "?", "Who runs the " + p + ", and when?", "Where is the " + p + " written down?"},
			Evidence:    evidence(uses[p]),
		})
	}
	return out
}

// splitSentences splits text into sentences: at line breaks, and after
// . ! or ? followed by a space. List bullets are dropped.
func splitSentences(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		line = strings.TrimLeft(line, "-*•>#0123456789.) ")
		start := 0
		for i := 0; i < len(line); i++ {
			c := line[i]
			if (c == '.' || c == '!' || c == '?') && (i+1 == len(line) || line[i+1] == ' ') {
				if s := strings.TrimSpace(line[start : i+1]); len(s) > 1 {
					out = append(out, s)
				}
				start = i + 1
			}
		}
		if s := strings.TrimSpace(line[start:]); len(s) > 1 {
			out = append(out, s)
		}
	}
	return out
}

// shouting reports whether most letters of s are capitals; such text is
// a heading or noise, not a use of acronyms.
func shouting(s string) bool {
	upper, letters := 0, 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters++
			if unicode.IsUpper(r) {
				upper++
			}
		}
	}
	return letters > 8 && upper*2 > letters
}

func hasLetters(s string, n int) bool {
	c := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			c++
		}
	}
	return c >= n
}

func evidence(ss []sentence) []engram.GapEvidence {
	out := make([]engram.GapEvidence, 0, len(ss))
	for _, s := range ss {
		out = append(out, engram.GapEvidence{DocumentID: s.doc, Sentence: s.text})
	}
	return out
}

func docsOf(ss []sentence) map[string]bool {
	m := map[string]bool{}
	for _, s := range ss {
		m[s.doc] = true
	}
	return m
}

func lastWord(s string) string {
	if i := strings.LastIndexByte(s, ' '); i >= 0 {
		return s[i+1:]
	}
	return s
}

// clip cuts s to at most n characters, adding an ellipsis when it cuts.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
