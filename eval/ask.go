package eval

import (
	"context"
	"fmt"

	"github.com/engram-kb/engram"
)

// AskReport compares extractive answers with search on a set's queries
// asked as questions: how often the answer's first citation is a
// relevant document, how often search's own top hit is, and how the
// "not covered" threshold splits the set's queries (which the corpus
// answers) from OffTopic questions (which it should not).
type AskReport struct {
	Queries          int `json:"queries"`
	SearchTop1       int `json:"search_top1_relevant"`
	AskTop1          int `json:"ask_top_citation_relevant"`
	AskNotCovered    int `json:"ask_not_covered"`
	OffTopic         int `json:"off_topic"`
	OffTopicAnswered int `json:"off_topic_answered"`
	// Sweep is what other thresholds would have given.
	Sweep []AskThreshold `json:"sweep"`
}

// AskThreshold is the outcome at one coverage threshold.
type AskThreshold struct {
	MinCoverage      float64 `json:"min_coverage"`
	AskTop1          int     `json:"ask_top_citation_relevant"`
	AskNotCovered    int     `json:"ask_not_covered"`
	OffTopicAnswered int     `json:"off_topic_answered"`
}

// OffTopic are questions a team's documents might be asked that a
// collection of manual pages does not answer; chosen before looking at
// any corpus, and kept fixed.
var OffTopic = []string{
	"What is the parental leave policy?",
	"Who approved the Q3 marketing budget?",
	"When is the next all-hands meeting?",
	"How many vacation days do new employees get?",
	"What did the customer say about the pricing change?",
	"Why did we switch catering suppliers?",
	"Who is the account manager for Globex?",
	"What was decided at the board meeting in March?",
	"How do I book a meeting room on the third floor?",
	"What is the dress code for client visits?",
	"When does the office close for the holidays?",
	"Who won the sales contest last quarter?",
	"What is our refund policy for annual plans?",
	"How much did the offsite in Lisbon cost?",
	"Which agency designed the new logo?",
	"What are the parking rules at headquarters?",
	"Why was the product launch postponed?",
	"How do I claim travel expenses?",
	"Who is on call for the payroll system this weekend?",
	"What did legal say about the contract renewal with Initech?",
}

// Asker is a store that answers questions.
type Asker interface {
	Store
	Ask(ctx context.Context, tenantID, owner string, in engram.AskInput, opt engram.AskOptions) (engram.AskAnswer, error)
}

// RunAsk loads the set into a fresh tenant (as Run does), then asks
// every query and every OffTopic question with no model (extractive).
// The first citation's document is named by the search results of the
// same query, which hold its external id.
func RunAsk(ctx context.Context, st Asker, set Set) (AskReport, error) {
	var rep AskReport
	tenantID, err := load(ctx, st, set, Options{})
	if err != nil {
		return rep, err
	}
	owner := engram.NewID()
	type outcome struct {
		coverage float64
		relevant bool
	}
	var asked, off []outcome
	for _, q := range set.Queries {
		rep.Queries++
		page, err := st.Search(ctx, tenantID, engram.SearchInput{Query: q.Text, Limit: engram.MaxSearchLimit})
		if err != nil && engram.ErrorCode(err) != engram.EInvalid {
			return rep, fmt.Errorf("query %s: %w", q.ID, err)
		}
		ext := map[string]string{}
		for i, r := range page.Results {
			ext[r.DocumentID] = r.ExternalID
			if i == 0 && set.Qrels[q.ID][r.ExternalID] > 0 {
				rep.SearchTop1++
			}
		}
		a, err := st.Ask(ctx, tenantID, owner, engram.AskInput{Question: q.Text}, engram.AskOptions{})
		if err != nil {
			if engram.ErrorCode(err) == engram.EInvalid {
				continue
			}
			return rep, fmt.Errorf("ask %s: %w", q.ID, err)
		}
		rel := len(a.Citations) > 0 && set.Qrels[q.ID][ext[a.Citations[0].DocumentID]] > 0
		if !a.Covered && len(page.Results) > 0 {
			// What it would have cited first at a lower threshold: its
			// best passage, the top hit of the same search by passage.
			pc, err := st.Search(ctx, tenantID, engram.SearchInput{Query: q.Text, Chunks: true, Limit: 1})
			if err != nil {
				return rep, err
			}
			rel = len(pc.Results) > 0 && set.Qrels[q.ID][pc.Results[0].ExternalID] > 0
		}
		asked = append(asked, outcome{a.Coverage, rel})
		if !a.Covered {
			rep.AskNotCovered++
		} else if rel {
			rep.AskTop1++
		}
	}
	for _, q := range OffTopic {
		rep.OffTopic++
		a, err := st.Ask(ctx, tenantID, owner, engram.AskInput{Question: q}, engram.AskOptions{})
		if err != nil {
			return rep, fmt.Errorf("ask %q: %w", q, err)
		}
		off = append(off, outcome{coverage: a.Coverage})
		if a.Covered {
			rep.OffTopicAnswered++
		}
	}
	for _, t := range []float64{0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9} {
		th := AskThreshold{MinCoverage: t}
		for _, o := range asked {
			if o.coverage < t {
				th.AskNotCovered++
			} else if o.relevant {
				th.AskTop1++
			}
		}
		for _, o := range off {
			if o.coverage >= t {
				th.OffTopicAnswered++
			}
		}
		rep.Sweep = append(rep.Sweep, th)
	}
	return rep, nil
}
