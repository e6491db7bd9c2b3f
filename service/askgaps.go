package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/engram-kb/engram"
)

// Feedback on answers, and the questions that become knowledge gaps. A
// question answered "not covered" is kept as evidence when it is asked; a
// rating down keeps its question too. The gap analysis job then files
// the evidence: one gap per fingerprint of the normalised question (the
// same question from two people is one gap, with both as evidence),
// through the same proposal upsert the document analysis uses, so a gap
// found again is left as people made it.

// askGapTitle starts the title of a gap made of a question.
const askGapTitle = "Unanswered question: "

// DefaultAskEvidenceBatch is how many questions one filing reads.
const DefaultAskEvidenceBatch = 500

// RateAnswer keeps a rating: one read (the answer, visible to the rater,
// with its question) and one transaction of one statement, two when the
// rating is down (the evidence).
func (s *Store) RateAnswer(ctx context.Context, tenantID, rater, messageID string, f engram.AskFeedback) error {
	if f.Rating != "up" && f.Rating != "down" {
		return engram.Errorf(engram.EInvalid, "rating: %q is not one of up, down", f.Rating)
	}
	if utf8.RuneCountInString(f.Comment) > engram.MaxFeedbackComment {
		return engram.Errorf(engram.EInvalid, "comment: must be at most %d characters", engram.MaxFeedbackComment)
	}
	a, ok, err := s.d.Reader().AskedMessageGet(ctx, tenantID, messageID, rater)
	if err != nil {
		return err
	}
	if !ok {
		return engram.Errorf(engram.ENotFound, "answer %s not found", messageID)
	}
	now := s.now().UTC()
	return s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		if err := tx.AskFeedbackUpsert(ctx, tenantID, messageID, rater, f.Rating, strings.TrimSpace(f.Comment), now); err != nil {
			return err
		}
		if f.Rating != "down" || strings.TrimSpace(a.Question) == "" {
			return nil
		}
		return tx.AskEvidenceInsert(ctx, tenantID, []engram.AskEvidence{{MessageID: messageID, ConversationID: a.ConversationID,
			Question: a.Question, Asker: a.Owner, Reason: engram.AskRatedDown, Fingerprint: askFingerprint(a.Question), CreatedAt: now}})
	})
}

// FileAskEvidence files up to limit pending questions under gaps: one
// read, then one transaction of at most six statements whatever their
// number (the gaps, their questions, their links, the evidence's gap,
// the audit row).
func (s *Store) FileAskEvidence(ctx context.Context, tenantID, actor string, limit int) (engram.AskEvidenceSummary, error) {
	var sum engram.AskEvidenceSummary
	if limit <= 0 {
		limit = DefaultAskEvidenceBatch
	}
	ev, err := s.d.Reader().AskEvidencePending(ctx, tenantID, limit)
	if err != nil || len(ev) == 0 {
		return sum, err
	}
	ps, err := askProposals(ev)
	if err != nil {
		return sum, err
	}
	sum.Questions = len(ev)
	err = s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		ids, err := tx.GapsUpsertProposals(ctx, tenantID, ps, s.now())
		if err != nil {
			return err
		}
		out, questions, _ := proposalChildren(ps, ids)
		if len(questions) > 0 {
			if err := tx.GapQuestionsInsert(ctx, tenantID, questions); err != nil {
				return err
			}
		}
		if err := tx.AskEvidenceFile(ctx, tenantID, ids); err != nil {
			return err
		}
		sum.GapsCreated, sum.GapsUpdated = len(out.Created), len(out.Updated)
		return s.audit(ctx, tx, tenantID, actor, "gaps.from_questions", "gap", len(out.Created)+len(out.Updated),
			map[string]any{"created": out.Created, "updated": out.Updated, "questions": len(ev)})
	})
	return sum, err
}

// askProposals makes one gap proposal per fingerprint: the question as
// first asked is its title and its question, the other wordings join its
// questions, and its context names the conversations and how many people
// asked.
func askProposals(ev []engram.AskEvidence) ([]engram.PreparedProposal, error) {
	type group struct {
		questions     []string
		conversations []string
		askers        map[string]bool
		reasons       map[string]bool
	}
	groups := map[string]*group{}
	var order []string
	for _, e := range ev {
		g, ok := groups[e.Fingerprint]
		if !ok {
			g = &group{askers: map[string]bool{}, reasons: map[string]bool{}}
			groups[e.Fingerprint] = g
			order = append(order, e.Fingerprint)
		}
		dup := false
		for _, q := range g.questions {
			dup = dup || q == e.Question
		}
		if !dup && len(g.questions) < engram.MaxGapQuestions {
			g.questions = append(g.questions, e.Question)
		}
		g.conversations = append(g.conversations, e.ConversationID)
		g.askers[e.Asker] = true
		g.reasons[e.Reason] = true
	}
	var out []engram.PreparedProposal
	for _, fp := range order {
		g := groups[fp]
		q := g.questions[0]
		p := engram.GapProposal{Category: engram.AskCategory(q), Subject: q, Title: askGapTitle + q,
			Description: "People asked this and the documents did not answer it (or the answer was rated down).",
			Priority:    min(5, 2+len(g.askers)), Questions: g.questions, Rule: "ask"}
		prepared, err := engram.PrepareProposals([]engram.GapProposal{p}, nil, "ask")
		if err != nil {
			return nil, err
		}
		pp := prepared[0]
		// The question's subject, not its wording or category, makes it
		// the same gap.
		pp.Fingerprint = fp
		var reasons []string
		for r := range g.reasons {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		b, err := json.Marshal(map[string]any{"source": "ask", "conversations": g.conversations, "askers": len(g.askers), "reasons": reasons})
		if err != nil {
			return nil, err
		}
		pp.ContextJSON = string(b)
		out = append(out, pp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Fingerprint < out[j].Fingerprint })
	return out, nil
}

// gapAnswerSource is the source_type of the documents answered gaps
// become.
const gapAnswerSource = "gap_answer"

// maxPublishedAnswers bounds the answers one publication reads.
const maxPublishedAnswers = 5000

// PublishGapAnswers makes each gap with answers (and not closed) a
// document of its own, source_type gap_answer, whose text is its
// questions and answers, so that the next ask can find and cite them. A
// gap's document is replaced (the old one soft-deleted) when its answers
// change, and removed when it has none left. Statements: the answers (one
// read), the published documents (one read a page of 200), then one
// transaction to create (two statements) and one to delete (as
// DeleteDocuments), each only when there is something to do.
func (s *Store) PublishGapAnswers(ctx context.Context, tenantID, actor string) (created, removed int, err error) {
	rows, err := s.d.Reader().GapAnswerRows(ctx, tenantID, maxPublishedAnswers)
	if err != nil {
		return 0, 0, err
	}
	type sheet struct {
		title string
		text  strings.Builder
		last  int
	}
	sheets := map[string]*sheet{}
	var order []string
	for _, r := range rows {
		sh, ok := sheets[r.GapID]
		if !ok {
			sh = &sheet{title: strings.TrimPrefix(r.Title, askGapTitle), last: -1}
			sheets[r.GapID] = sh
			order = append(order, r.GapID)
		}
		if r.Position != sh.last {
			sh.text.WriteString("\n\nQuestion: " + r.Question + "\n")
			sh.last = r.Position
		}
		sh.text.WriteString("Answer: " + r.Answer + "\n")
	}
	want := map[string]string{} // external id → gap id
	var docs []engram.NewDocument
	for _, id := range order {
		sh := sheets[id]
		content := strings.TrimSpace(sh.text.String())
		sum := sha256.Sum256([]byte(sh.title + "\x00" + content))
		ext := "gap:" + id + ":" + hex.EncodeToString(sum[:6])
		want[ext] = id
		e := ext
		docs = append(docs, engram.NewDocument{Title: sh.title, Content: content, SourceType: gapAnswerSource, ExternalID: &e,
			Metadata: json.RawMessage(`{"gap_id":"` + id + `"}`)})
	}
	have := map[string]bool{}
	var stale []string
	src := gapAnswerSource
	f := engram.DocumentFilter{SourceType: &src, Limit: engram.MaxListLimit, Sort: engram.SortCreatedAt}
	for {
		page, err := s.ListDocuments(ctx, tenantID, f)
		if err != nil {
			return 0, 0, err
		}
		for _, d := range page.Documents {
			if d.ExternalID == nil {
				continue
			}
			if _, ok := want[*d.ExternalID]; ok && !have[*d.ExternalID] {
				have[*d.ExternalID] = true
			} else {
				stale = append(stale, d.ID)
			}
		}
		if !page.HasMore {
			break
		}
		c, err := engram.DecodeCursor(page.NextCursor, f.Sort, f.Desc)
		if err != nil {
			return 0, 0, err
		}
		f.Cursor = c
	}
	var fresh []engram.NewDocument
	for _, d := range docs {
		if !have[*d.ExternalID] {
			fresh = append(fresh, d)
		}
	}
	for start := 0; start < len(fresh); start += engram.MaxDocumentsPerCreate {
		batch := fresh[start:min(start+engram.MaxDocumentsPerCreate, len(fresh))]
		prepared, err := engram.PrepareDocuments(batch)
		if err != nil {
			return created, 0, err
		}
		if err := s.CreateDocuments(ctx, tenantID, prepared); err != nil {
			return created, 0, err
		}
		created += len(batch)
	}
	if len(stale) > 0 {
		res, err := s.DeleteDocuments(ctx, tenantID, actor, stale, false)
		if err != nil {
			return created, 0, err
		}
		removed = res.Changed
	}
	return created, removed, nil
}
