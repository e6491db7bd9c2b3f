package rows

import (
	"encoding/json"

	"github.com/engram-kb/engram"
)

// QuestionRow is one gap question as the insert statements read it.
type QuestionRow struct {
	GapID    string `json:"gap_id"`
	Position int    `json:"position"`
	Text     string `json:"text"`
}

// QuestionsJSON returns the questions of one gap as a JSON array of rows.
func QuestionsJSON(gapID string, qs []string) string {
	out := make([]QuestionRow, len(qs))
	for i, q := range qs {
		out[i] = QuestionRow{GapID: gapID, Position: i, Text: q}
	}
	return marshal(out)
}

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

// LinkRow links a gap to a document.
type LinkRow struct {
	GapID      string `json:"gap_id"`
	DocumentID string `json:"document_id"`
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

// ProposalChildren returns, for the gaps an upsert stored (gapIDs maps a
// fingerprint to the id of the gap that holds it), the questions of those
// it created and the document links of all of them, as two JSON arrays,
// with the ids of the created and of the found-again gaps.
func ProposalChildren(ps []engram.PreparedProposal, gapIDs map[string]string) (questions, links string, nQuestions int, out engram.ProposalOutcome) {
	var qs []QuestionRow
	ls := []LinkRow{}
	out = engram.ProposalOutcome{Created: []string{}, Updated: []string{}}
	for _, p := range ps {
		id, ok := gapIDs[p.Fingerprint]
		if !ok {
			continue
		}
		if id == p.ID {
			out.Created = append(out.Created, id)
			for i, q := range p.Questions {
				qs = append(qs, QuestionRow{GapID: id, Position: i, Text: q})
			}
		} else {
			out.Updated = append(out.Updated, id)
		}
		for _, d := range p.DocumentIDs {
			ls = append(ls, LinkRow{GapID: id, DocumentID: d})
		}
	}
	return marshal(qs), marshal(ls), len(qs), out
}

func marshal(v any) string {
	b, _ := json.Marshal(v) // rows of strings and ints always encode
	return string(b)
}
