package rows

import (
	"encoding/json"

	"github.com/engram-kb/engram"
)

// QuestionsJSON returns gap questions as a JSON array of rows
// ({gap_id, position, text}).
func QuestionsJSON(qs []engram.NewGapQuestion) string { return marshal(qs) }

// LinksJSON returns gap-document links as a JSON array of rows
// ({gap_id, document_id}).
func LinksJSON(ls []engram.GapLink) string { return marshal(ls) }

// ProposalRow is one proposed gap as the upsert statements read it.
type ProposalRow struct {
	ID          string             `json:"id"`
	Fingerprint string             `json:"fingerprint"`
	Title       string             `json:"title"`
	Description string             `json:"description"`
	Category    engram.GapCategory `json:"category"`
	Priority    int                `json:"priority"`
	Context     string             `json:"context"`
}

// ProposalsJSON returns the proposals as a JSON array of gap rows, in the
// order given (the stores take them in fingerprint order, so that two
// concurrent runs lock their rows in the same order).
func ProposalsJSON(ps []engram.PreparedProposal) string {
	out := make([]ProposalRow, len(ps))
	for i, p := range ps {
		out[i] = ProposalRow{ID: p.ID, Fingerprint: p.Fingerprint, Title: p.Title, Description: p.Description,
			Category: p.Category, Priority: p.Priority, Context: p.ContextJSON}
	}
	return marshal(out)
}

func marshal(v any) string {
	b, _ := json.Marshal(v) // rows of strings, ints and bools always encode
	if string(b) == "null" {
		return "[]"
	}
	return string(b)
}

// GapTerm names one condition of a gap list. Each engine keeps the SQL of
// every term.
type GapTerm int

// The terms, in the order the list statements name them.
const (
	GapTermStatus      GapTerm = iota
	GapTermCategory            // one value
	GapTermPriorityMin         // one value
	GapTermBefore              // the cursor: priority, created_at (time.Time), id
)

// GapCond is one term of a gap list with its values.
type GapCond struct {
	Term   GapTerm
	Values []any
}

// GapConds returns the conditions of f beyond the tenant.
func GapConds(f engram.GapFilter) []GapCond {
	var out []GapCond
	if f.Status != nil {
		out = append(out, GapCond{GapTermStatus, []any{string(*f.Status)}})
	}
	if f.Category != nil {
		out = append(out, GapCond{GapTermCategory, []any{string(*f.Category)}})
	}
	if f.PriorityMin > 0 {
		out = append(out, GapCond{GapTermPriorityMin, []any{f.PriorityMin}})
	}
	if c := f.Cursor; c != nil {
		out = append(out, GapCond{GapTermBefore, []any{c.Priority, c.CreatedAt, c.ID}})
	}
	return out
}

// GapCategoryParam returns a patch's category as a nullable column value.
func GapCategoryParam(p engram.GapPatch) *string {
	if p.Category == nil {
		return nil
	}
	c := string(*p.Category)
	return &c
}

// FinishGap sets the enums of a scanned gap.
func FinishGap(g *engram.Gap, category, status string, context []byte) {
	g.Category = engram.GapCategory(category)
	g.Status = engram.GapStatus(status)
	g.Context = json.RawMessage(context)
}

// GapFactsRow scans the columns that read a gap's engram.GapFacts in the
// statement writing one of its answers: the gap's status, its number of
// questions and its answers as a JSON array of {id, index, verified}.
type GapFactsRow struct {
	status  string
	answers []byte
	f       engram.GapFacts
}

// Dest returns the scan destinations in column order.
func (d *GapFactsRow) Dest() []any { return []any{&d.status, &d.f.Questions, &d.answers} }

// Facts returns the scanned facts.
func (d *GapFactsRow) Facts() (engram.GapFacts, error) {
	d.f.Status = engram.GapStatus(d.status)
	err := json.Unmarshal(d.answers, &d.f.Answers)
	return d.f, err
}
