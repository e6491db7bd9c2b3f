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
