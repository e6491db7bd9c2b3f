package engram

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
)

// Gap analysis reads a tenant's work documents in batches and asks a
// GapAnalyzer what they leave unanswered. Its proposals carry a
// fingerprint, so running the analysis again over the same documents finds
// the gaps it already made instead of making them twice.

// AnalysisDocument is what an analyzer sees of a document.
type AnalysisDocument struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Content string `json:"content"`
}

// MaxAnalysisContent bounds how much of a document an analysis reads, so
// a batch of documents has a bounded size in memory.
const MaxAnalysisContent = 100000

// GapEvidence is why a gap was proposed: a sentence of a document.
type GapEvidence struct {
	DocumentID string `json:"document_id"`
	Sentence   string `json:"sentence"`
}

// GapProposal is a gap an analyzer proposes. Subject is what the gap is
// about (a decision, an acronym, a process name): together with Category
// it identifies the gap across runs, so it must not depend on which
// document or batch the analyzer saw it in.
type GapProposal struct {
	Category    GapCategory
	Subject     string
	Title       string
	Description string
	Priority    int
	Questions   []string
	// Rule names the analyzer's rule that made the proposal.
	Rule     string
	Evidence []GapEvidence
}

// GapAnalyzer proposes gaps for a batch of documents. The built-in one
// (package analyze) needs no network; an LLM-based one can take its place
// behind the same interface. Evidence must cite the ids of docs.
type GapAnalyzer interface {
	Analyze(ctx context.Context, docs []AnalysisDocument) ([]GapProposal, error)
}

// GapFingerprint identifies a proposed gap within a tenant: a hash of its
// category and its subject, normalised so that case, punctuation and
// spacing do not make a second gap of the same thing.
func GapFingerprint(c GapCategory, subject string) string {
	h := sha256.Sum256([]byte(string(c) + "\x00" + NormalizeSubject(subject)))
	return hex.EncodeToString(h[:])
}

// NormalizeSubject lowercases s, turns every run of characters other than
// letters and digits into one space, and trims it.
func NormalizeSubject(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
			space = false
		} else {
			space = true
		}
	}
	return b.String()
}

// PreparedProposal is a checked proposal ready to store: its would-be id,
// fingerprint, context JSON and the documents it links.
type PreparedProposal struct {
	ID          string
	Fingerprint string
	Title       string
	Description string
	Category    GapCategory
	Priority    int
	Questions   []string
	ContextJSON string
	DocumentIDs []string
}

// maxEvidence bounds how many sentences a gap's context keeps; the links
// hold every document.
const maxEvidence = 5

// PrepareProposals checks an analyzer's proposals and merges those with
// the same fingerprint (the same acronym used in three documents is one
// gap with three documents). The result is in fingerprint order, the order
// the stores write in. Evidence must cite documents of docs.
func PrepareProposals(ps []GapProposal, docs []AnalysisDocument, analyzer string) ([]PreparedProposal, error) {
	known := make(map[string]bool, len(docs))
	for _, d := range docs {
		known[d.ID] = true
	}
	byFP := map[string]*PreparedProposal{}
	evidence := map[string][]GapEvidence{}
	rules := map[string]string{}
	for i, p := range ps {
		if strings.TrimSpace(p.Subject) == "" || NormalizeSubject(p.Subject) == "" {
			return nil, fmt.Errorf("analyzer proposal %d has no subject", i)
		}
		if !p.Category.Valid() {
			return nil, fmt.Errorf("analyzer proposal %d has unknown category %q", i, p.Category)
		}
		g := NewGap{Title: truncateRunes(p.Title, MaxGapTitleLen), Description: truncateRunes(p.Description, MaxGapDescriptionLen),
			Category: p.Category, Priority: min(5, max(1, p.Priority))}
		for _, q := range p.Questions[:min(len(p.Questions), MaxGapQuestions)] {
			g.Questions = append(g.Questions, truncateRunes(q, MaxGapQuestionLen))
		}
		prep, err := g.Prepare()
		if err != nil {
			return nil, fmt.Errorf("analyzer proposal %d: %w", i, err)
		}
		for _, e := range p.Evidence {
			if !known[e.DocumentID] {
				return nil, fmt.Errorf("analyzer proposal %d cites document %q, which it was not given", i, e.DocumentID)
			}
		}
		fp := GapFingerprint(p.Category, p.Subject)
		cur, ok := byFP[fp]
		if !ok {
			cur = &PreparedProposal{ID: prep.ID, Fingerprint: fp, Title: prep.Title, Description: prep.Description,
				Category: prep.Category, Priority: prep.Priority, Questions: prep.Questions}
			byFP[fp] = cur
			rules[fp] = p.Rule
		} else {
			cur.Priority = max(cur.Priority, prep.Priority)
		}
		evidence[fp] = append(evidence[fp], p.Evidence...)
	}
	out := make([]PreparedProposal, 0, len(byFP))
	for fp, p := range byFP {
		seen := map[string]bool{}
		var kept []GapEvidence
		for _, e := range evidence[fp] {
			if !seen[e.DocumentID] {
				seen[e.DocumentID] = true
				p.DocumentIDs = append(p.DocumentIDs, e.DocumentID)
				if len(kept) < maxEvidence {
					kept = append(kept, GapEvidence{DocumentID: e.DocumentID, Sentence: truncateRunes(e.Sentence, 1000)})
				}
			}
		}
		sort.Strings(p.DocumentIDs)
		b, err := json.Marshal(map[string]any{"source": "analysis", "analyzer": analyzer, "rule": rules[fp], "evidence": nonNil(kept)})
		if err != nil {
			return nil, err
		}
		p.ContextJSON = string(b)
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Fingerprint < out[j].Fingerprint })
	return out, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// ProposalOutcome says which gaps an upsert created and which existing
// ones it found again (and linked to the batch's documents).
type ProposalOutcome struct {
	Created []string
	Updated []string
}

// AnalysisOptions bound an analysis run.
type AnalysisOptions struct {
	// MaxDocuments is the most documents the run reads (default 500).
	MaxDocuments int
	// BatchSize is how many documents the analyzer sees at once (default
	// 100). Each batch is stored in its own transaction, so a run that
	// stops half way keeps what it found.
	BatchSize int
	// Analyzer names the analyzer in each gap's context.
	Analyzer string
}

// Analysis limits.
const (
	DefaultAnalysisDocuments = 500
	MaxAnalysisDocuments     = 10000
	DefaultAnalysisBatch     = 100
)

// AnalysisSummary is what an analysis run did. A gap found again in a
// later batch of the same run counts once, as created.
type AnalysisSummary struct {
	DocumentsScanned int           `json:"documents_scanned"`
	GapsCreated      int           `json:"gaps_created"`
	GapsUpdated      int           `json:"gaps_updated"`
	Duration         time.Duration `json:"-"`
}

// RunGapAnalysis analyses the tenant's work documents, batch by batch in
// id order, up to opt.MaxDocuments, and stores what the analyzer proposes.
// progress, when not nil, is called after each batch with the documents
// done so far and the total the run will read. A cancelled ctx stops the
// run between batches; batches already stored stay stored.
func RunGapAnalysis(ctx context.Context, store GapStore, analyzer GapAnalyzer, tenantID, actorKeyID string, opt AnalysisOptions, progress func(done, total int)) (AnalysisSummary, error) {
	start := time.Now()
	if opt.MaxDocuments <= 0 {
		opt.MaxDocuments = DefaultAnalysisDocuments
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = DefaultAnalysisBatch
	}
	if opt.Analyzer == "" {
		opt.Analyzer = "builtin"
	}
	var sum AnalysisSummary
	total, err := store.CountAnalysisDocuments(ctx, tenantID)
	if err != nil {
		return sum, err
	}
	total = min(total, opt.MaxDocuments)
	created, updated := map[string]bool{}, map[string]bool{}
	after := ""
	for sum.DocumentsScanned < total {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		docs, err := store.ListAnalysisDocuments(ctx, tenantID, after, min(opt.BatchSize, total-sum.DocumentsScanned))
		if err != nil {
			return sum, err
		}
		if len(docs) == 0 {
			break // documents went away since the count
		}
		after = docs[len(docs)-1].ID
		proposals, err := analyzer.Analyze(ctx, docs)
		if err != nil {
			return sum, err
		}
		prepared, err := PrepareProposals(proposals, docs, opt.Analyzer)
		if err != nil {
			return sum, err
		}
		if len(prepared) > 0 {
			o, err := store.UpsertGapProposals(ctx, tenantID, actorKeyID, prepared)
			if err != nil {
				return sum, err
			}
			for _, id := range o.Created {
				created[id] = true
			}
			for _, id := range o.Updated {
				if !created[id] {
					updated[id] = true
				}
			}
		}
		sum.DocumentsScanned += len(docs)
		if progress != nil {
			progress(sum.DocumentsScanned, total)
		}
	}
	sum.GapsCreated, sum.GapsUpdated = len(created), len(updated)
	sum.Duration = time.Since(start)
	return sum, nil
}
