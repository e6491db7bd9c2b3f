package engram

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A knowledge gap is something the knowledge base does not answer: a
// decision without its rationale, a process nobody wrote down, a system
// whose owner is unknown. A gap has questions (rows, in order), answers to
// them, the documents it came from, and feedback on whether it was worth
// raising.

// GapCategory says what kind of knowledge is missing.
type GapCategory string

// Gap categories.
const (
	GapDecision     GapCategory = "decision"
	GapTechnical    GapCategory = "technical"
	GapProcess      GapCategory = "process"
	GapContext      GapCategory = "context"
	GapRelationship GapCategory = "relationship"
	GapTimeline     GapCategory = "timeline"
	GapOutcome      GapCategory = "outcome"
	GapRationale    GapCategory = "rationale"
)

// GapCategories lists every category, in display order.
var GapCategories = []GapCategory{GapDecision, GapTechnical, GapProcess, GapContext, GapRelationship, GapTimeline, GapOutcome, GapRationale}

// Valid reports whether c is a known category.
func (c GapCategory) Valid() bool { return validEnum(c, GapCategories) }

// GapStatus is where the work on a gap stands.
type GapStatus string

// Gap statuses. The first four follow the answers automatically (see
// AutoGapStatus); closed is only ever set by a person.
const (
	GapOpen       GapStatus = "open"
	GapInProgress GapStatus = "in_progress"
	GapAnswered   GapStatus = "answered"
	GapVerified   GapStatus = "verified"
	GapClosed     GapStatus = "closed"
)

// GapStatuses lists every status, in the order work moves through them.
var GapStatuses = []GapStatus{GapOpen, GapInProgress, GapAnswered, GapVerified, GapClosed}

// Valid reports whether s is a known status.
func (s GapStatus) Valid() bool { return validEnum(s, GapStatuses) }

func validEnum[T ~string](v T, all []T) bool {
	for _, a := range all {
		if v == a {
			return true
		}
	}
	return false
}

// AutoGapStatus is the status the answers of a gap imply: open until the
// first answer, in_progress until every question has one, answered until
// every answer is verified, then verified. A closed gap stays closed: only
// a person reopens it. It is the only place the rule is written: after
// every change to a gap's answers, the use case reads the gap's facts
// (GapFacts), applies the change, and stores what this returns.
func AutoGapStatus(current GapStatus, questions, answeredQuestions, answers, verifiedAnswers int) GapStatus {
	switch {
	case current == GapClosed:
		return GapClosed
	case answers == 0:
		return GapOpen
	case answeredQuestions < questions:
		return GapInProgress
	case verifiedAnswers == answers:
		return GapVerified
	default:
		return GapAnswered
	}
}

// Gap is one knowledge gap without its questions and answers, as lists
// show it. QuestionCount and AnsweredCount (questions with at least one
// answer) come with every gap, computed by the same statement that reads
// it.
type Gap struct {
	ID                string          `json:"id"`
	Title             string          `json:"title"`
	Description       string          `json:"description"`
	Category          GapCategory     `json:"category"`
	Priority          int             `json:"priority"`
	Status            GapStatus       `json:"status"`
	Context           json.RawMessage `json:"context"`
	Fingerprint       *string         `json:"fingerprint"`
	FeedbackUseful    int             `json:"feedback_useful"`
	FeedbackNotUseful int             `json:"feedback_not_useful"`
	QuestionCount     int             `json:"question_count"`
	AnsweredCount     int             `json:"answered_count"`
	CreatedAt         time.Time       `json:"created_at"`
	UpdatedAt         time.Time       `json:"updated_at"`
	ClosedAt          *time.Time      `json:"closed_at"`
}

// GapQuestion is one question of a gap; Index is its position, from 0.
type GapQuestion struct {
	Index int    `json:"index"`
	Text  string `json:"text"`
}

// GapAnswer is one answer to one question of a gap.
type GapAnswer struct {
	ID            string     `json:"id"`
	GapID         string     `json:"gap_id"`
	QuestionIndex int        `json:"question_index"`
	AnswerText    string     `json:"answer_text"`
	CreatedBy     *string    `json:"created_by"`
	IsVerified    bool       `json:"is_verified"`
	VerifiedBy    *string    `json:"verified_by"`
	VerifiedAt    *time.Time `json:"verified_at"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// GapDetail is a gap with its questions, answers (oldest first) and the
// ids of its live related documents.
type GapDetail struct {
	Gap
	Questions   []GapQuestion `json:"questions"`
	Answers     []GapAnswer   `json:"answers"`
	DocumentIDs []string      `json:"document_ids"`
}

// Count fills QuestionCount and AnsweredCount from the questions and
// answers, so a detail agrees with the list item of the same gap.
func (d *GapDetail) Count() {
	d.QuestionCount = len(d.Questions)
	seen := map[int]bool{}
	for _, a := range d.Answers {
		seen[a.QuestionIndex] = true
	}
	d.AnsweredCount = len(seen)
}

// Limits on gaps.
const (
	MaxGapTitleLen       = 500
	MaxGapDescriptionLen = 10000
	MaxGapQuestions      = 50
	MaxGapQuestionLen    = 2000
	MaxGapAnswerLen      = 20000
	MaxGapCommentLen     = 2000
	MaxGapDocuments      = 1000
	DefaultGapPriority   = 3
)

// NewGap is a gap as a person submits it.
type NewGap struct {
	Title       string
	Description string
	Category    GapCategory
	Priority    int
	Questions   []string
	DocumentIDs []string
}

// PreparedGap is a validated NewGap with its id.
type PreparedGap struct {
	NewGap
	ID string
}

// Prepare validates g and gives it an id. Errors name the field.
func (g NewGap) Prepare() (PreparedGap, error) {
	if err := checkText("title", g.Title, MaxGapTitleLen, true); err != nil {
		return PreparedGap{}, err
	}
	if err := checkText("description", g.Description, MaxGapDescriptionLen, false); err != nil {
		return PreparedGap{}, err
	}
	if err := checkCategory(g.Category); err != nil {
		return PreparedGap{}, err
	}
	if err := checkPriority(g.Priority); err != nil {
		return PreparedGap{}, err
	}
	if len(g.Questions) == 0 {
		return PreparedGap{}, Errorf(EInvalid, "questions: at least one question is required")
	}
	if len(g.Questions) > MaxGapQuestions {
		return PreparedGap{}, Errorf(EInvalid, "questions: at most %d questions, got %d", MaxGapQuestions, len(g.Questions))
	}
	qs := make([]string, len(g.Questions))
	for i, q := range g.Questions {
		q = strings.TrimSpace(q)
		if err := checkText("questions["+strconv.Itoa(i)+"]", q, MaxGapQuestionLen, true); err != nil {
			return PreparedGap{}, err
		}
		qs[i] = q
	}
	g.Questions = qs
	g.Title = strings.TrimSpace(g.Title)
	if len(g.DocumentIDs) > MaxGapDocuments {
		return PreparedGap{}, Errorf(EInvalid, "document_ids: at most %d ids, got %d", MaxGapDocuments, len(g.DocumentIDs))
	}
	if len(g.DocumentIDs) > 0 {
		ids, err := NormalizeIDs("document_ids", g.DocumentIDs)
		if err != nil {
			return PreparedGap{}, err
		}
		g.DocumentIDs = ids
	} else {
		g.DocumentIDs = nil
	}
	return PreparedGap{NewGap: g, ID: NewID()}, nil
}

// checkText checks a text field: its length in characters, valid UTF-8,
// no NUL (PostgreSQL text cannot hold it), and not blank when required.
func checkText(field, v string, maxLen int, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return Errorf(EInvalid, "%s: must not be empty", field)
	}
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return Errorf(EInvalid, "%s: must be valid UTF-8 without NUL characters", field)
	}
	if n := utf8.RuneCountInString(v); n > maxLen {
		return Errorf(EInvalid, "%s: at most %d characters, got %d", field, maxLen, n)
	}
	return nil
}

func checkCategory(c GapCategory) error {
	if !c.Valid() {
		return Errorf(EInvalid, "category: %q is not one of %s", c, joinEnum(GapCategories))
	}
	return nil
}

func checkPriority(p int) error {
	if p < 1 || p > 5 {
		return Errorf(EInvalid, "priority: must be from 1 to 5, got %d", p)
	}
	return nil
}

// CheckGapStatus checks a status a person asked for.
func CheckGapStatus(s GapStatus) error {
	if !s.Valid() {
		return Errorf(EInvalid, "status: %q is not one of %s", s, joinEnum(GapStatuses))
	}
	return nil
}

func joinEnum[T ~string](all []T) string {
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

// GapPatch changes a gap's title, description, category and/or priority.
// Nil fields are left as they are. Questions are not edited in place:
// answers refer to them by position.
type GapPatch struct {
	Title       *string
	Description *string
	Category    *GapCategory
	Priority    *int
}

// Validate checks the patch and trims its title.
func (p *GapPatch) Validate() error {
	if p.Title == nil && p.Description == nil && p.Category == nil && p.Priority == nil {
		return Errorf(EInvalid, "body: nothing to change; give title, description, category and/or priority")
	}
	if p.Title != nil {
		if err := checkText("title", *p.Title, MaxGapTitleLen, true); err != nil {
			return err
		}
		t := strings.TrimSpace(*p.Title)
		p.Title = &t
	}
	if p.Description != nil {
		if err := checkText("description", *p.Description, MaxGapDescriptionLen, false); err != nil {
			return err
		}
	}
	if p.Category != nil {
		if err := checkCategory(*p.Category); err != nil {
			return err
		}
	}
	if p.Priority != nil {
		if err := checkPriority(*p.Priority); err != nil {
			return err
		}
	}
	return nil
}

// CheckAnswerText checks the text of an answer.
func CheckAnswerText(text string) error {
	return checkText("answer_text", text, MaxGapAnswerLen, true)
}

// CheckFeedbackComment checks the comment of a piece of feedback.
func CheckFeedbackComment(comment string) error {
	return checkText("comment", comment, MaxGapCommentLen, false)
}

// GapFeedbackCounts is a gap's feedback tally after a new piece of it.
type GapFeedbackCounts struct {
	Useful    int `json:"useful"`
	NotUseful int `json:"not_useful"`
}

// GapAnswerResult is an answer after a change, with the status the change
// left its gap in.
type GapAnswerResult struct {
	Answer    GapAnswer
	GapStatus GapStatus
}

// GapFilter selects a page of gaps. Gaps list by priority, highest first,
// then newest first.
type GapFilter struct {
	Status      *GapStatus
	Category    *GapCategory
	PriorityMin int // 0: any
	Limit       int
	Cursor      *GapCursor
}

// GapPage is one page of gaps.
type GapPage struct {
	Gaps       []Gap
	HasMore    bool
	NextCursor string
}

// GapCursor is a keyset position in the gap order: the priority, creation
// time and id of the last gap seen. It travels as opaque base64.
type GapCursor struct {
	Priority  int       `json:"p"`
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"i"`
}

// Encode returns the opaque text form of c.
func (c GapCursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// GapCursorAfter returns the cursor positioned after g.
func GapCursorAfter(g Gap) GapCursor {
	return GapCursor{Priority: g.Priority, CreatedAt: g.CreatedAt.UTC(), ID: g.ID}
}

// DecodeGapCursor parses an opaque gap cursor.
func DecodeGapCursor(s string) (*GapCursor, error) {
	bad := Errorf(EInvalid, "cursor: not a cursor returned by this list; start again without it")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var c GapCursor
	if json.Unmarshal(b, &c) != nil || c.Priority < 1 || c.Priority > 5 || c.CreatedAt.IsZero() {
		return nil, bad
	}
	id, ok := ParseID(c.ID)
	if !ok {
		return nil, bad
	}
	c.ID = id
	c.CreatedAt = c.CreatedAt.UTC()
	return &c, nil
}

// GapStats is the gap panel: how much is still open, at a glance.
type GapStats struct {
	TotalGaps         int                 `json:"total_gaps"`
	OpenGaps          int                 `json:"open_gaps"`
	InProgressGaps    int                 `json:"in_progress_gaps"`
	AnsweredGaps      int                 `json:"answered_gaps"`
	VerifiedGaps      int                 `json:"verified_gaps"`
	ClosedGaps        int                 `json:"closed_gaps"`
	ByCategory        map[GapCategory]int `json:"by_category"`
	TotalAnswers      int                 `json:"total_answers"`
	VerifiedAnswers   int                 `json:"verified_answers"`
	UsefulFeedback    int                 `json:"useful_feedback"`
	NotUsefulFeedback int                 `json:"not_useful_feedback"`
	// FeedbackRatio is the share of feedback that found gaps useful, or
	// nil when there is none.
	FeedbackRatio *float64 `json:"feedback_ratio"`
}

// FillGapStats builds stats from counts per status and per category, in
// the order of GapStatuses and GapCategories, and the answer and feedback
// totals. Every category is present, zeros included.
func FillGapStats(byStatus, byCategory []int, answers, verified, useful, notUseful int) GapStats {
	st := GapStats{ByCategory: make(map[GapCategory]int, len(GapCategories)),
		TotalAnswers: answers, VerifiedAnswers: verified, UsefulFeedback: useful, NotUsefulFeedback: notUseful}
	counts := map[GapStatus]*int{GapOpen: &st.OpenGaps, GapInProgress: &st.InProgressGaps,
		GapAnswered: &st.AnsweredGaps, GapVerified: &st.VerifiedGaps, GapClosed: &st.ClosedGaps}
	for i, s := range GapStatuses {
		*counts[s] = byStatus[i]
		st.TotalGaps += byStatus[i]
	}
	for i, c := range GapCategories {
		st.ByCategory[c] = byCategory[i]
	}
	if useful+notUseful > 0 {
		r := float64(useful) / float64(useful+notUseful)
		st.FeedbackRatio = &r
	}
	return st
}

// GapStore keeps knowledge gaps. Every method is scoped by tenant: another
// tenant's gap is not_found, exactly like a gap that does not exist.
type GapStore interface {
	// CreateGap stores a prepared gap with its questions and links it to
	// its documents, in one transaction. Returns invalid_argument when a
	// document id is not a live document of the tenant.
	CreateGap(ctx context.Context, tenantID string, g PreparedGap) (GapDetail, error)
	// ListGaps returns one keyset page of gaps, each with its question and
	// answered counts, in at most two statements.
	ListGaps(ctx context.Context, tenantID string, f GapFilter) (GapPage, error)
	// GetGap returns a gap with its questions, answers and live documents
	// in at most three statements. Returns not_found.
	GetGap(ctx context.Context, tenantID, id string) (GapDetail, error)
	// UpdateGap applies a validated patch and returns the gap. Returns
	// not_found.
	UpdateGap(ctx context.Context, tenantID, id string, p GapPatch) (GapDetail, error)
	// DeleteGap deletes a gap with its questions, answers, links and
	// feedback, and writes one audit row. Returns not_found.
	DeleteGap(ctx context.Context, tenantID, actorKeyID, id string) error
	// SetGapStatus sets the status a person chose on the tenant's gaps
	// among ids (closed sets closed_at, any other status clears it), in a
	// constant number of statements (at most four) with one audit row.
	// Ids that are not the tenant's gaps come back in NotFound.
	SetGapStatus(ctx context.Context, tenantID, actorKeyID string, ids []string, s GapStatus) (BulkResult, error)
	// AddGapAnswer answers question index of a gap and moves the gap's
	// status with the work, in one transaction. Returns not_found, or
	// invalid_argument when the gap has no such question.
	AddGapAnswer(ctx context.Context, tenantID, actorKeyID, gapID string, index int, text string) (GapAnswerResult, error)
	// UpdateGapAnswer replaces an answer's text; a changed answer needs
	// verifying again. Returns not_found.
	UpdateGapAnswer(ctx context.Context, tenantID, actorKeyID, gapID, answerID, text string) (GapAnswerResult, error)
	// VerifyGapAnswer marks an answer verified by the caller. Verifying a
	// verified answer changes nothing. Returns not_found.
	VerifyGapAnswer(ctx context.Context, tenantID, actorKeyID, gapID, answerID string) (GapAnswerResult, error)
	// AddGapFeedback records whether a gap was worth raising. Returns
	// not_found.
	AddGapFeedback(ctx context.Context, tenantID, actorKeyID, gapID string, useful bool, comment string) (GapFeedbackCounts, error)
	// GapStats counts the tenant's gaps, answers and feedback in one
	// statement.
	GapStats(ctx context.Context, tenantID string) (GapStats, error)
	// CountAnalysisDocuments counts the documents an analysis reads: live,
	// classified or confirmed, and of class work.
	CountAnalysisDocuments(ctx context.Context, tenantID string) (int, error)
	// ListAnalysisDocuments returns up to limit of those documents with
	// ids after afterID ("" for the start), in id order, with at most
	// MaxAnalysisContent characters of their content.
	ListAnalysisDocuments(ctx context.Context, tenantID, afterID string, limit int) ([]AnalysisDocument, error)
	// UpsertGapProposals creates the proposed gaps that are new, keeps
	// the ones whose fingerprint the tenant already has, and links every
	// proposal's live documents, in one transaction of at most four
	// statements whatever the number of proposals, with one audit row.
	UpsertGapProposals(ctx context.Context, tenantID, actorKeyID string, ps []PreparedProposal) (ProposalOutcome, error)
}

// NewGapDetail is the detail of a gap just created from g at now, built
// without reading it back: it has no answers yet, and its documents are
// the ones it was created with.
func NewGapDetail(g PreparedGap, now time.Time) GapDetail {
	now = now.UTC().Truncate(time.Microsecond)
	d := GapDetail{
		Gap: Gap{ID: g.ID, Title: g.Title, Description: g.Description, Category: g.Category, Priority: g.Priority,
			Status: GapOpen, Context: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now},
		Questions:   make([]GapQuestion, len(g.Questions)),
		Answers:     []GapAnswer{},
		DocumentIDs: append([]string{}, g.DocumentIDs...),
	}
	for i, q := range g.Questions {
		d.Questions[i] = GapQuestion{Index: i, Text: q}
	}
	sort.Strings(d.DocumentIDs)
	d.Count()
	return d
}

// Finish trims a page read with limit+1 rows to limit and sets HasMore
// and NextCursor.
func (p *GapPage) Finish(limit int) {
	if len(p.Gaps) > limit {
		p.HasMore = true
		p.Gaps = p.Gaps[:limit]
		p.NextCursor = GapCursorAfter(p.Gaps[limit-1]).Encode()
	}
}

// CheckQuestionIndex checks that a gap with n questions has question
// index.
func CheckQuestionIndex(index, n int) error {
	if index < 0 || index >= n {
		return Errorf(EInvalid, "question_index: must be from 0 to %d (the gap has %d questions), got %d", n-1, n, index)
	}
	return nil
}
