package analyze_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/analyze"
)

// rules returns the rule and subject of every proposal for one document.
func rules(t *testing.T, docs ...string) []string {
	t.Helper()
	in := make([]engram.AnalysisDocument, len(docs))
	for i, d := range docs {
		in[i] = engram.AnalysisDocument{ID: engram.NewID(), Title: "doc", Content: d}
	}
	ps, err := analyze.New().Analyze(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	// Every proposal must pass the domain's own checks.
	if _, err := engram.PrepareProposals(ps, in, analyze.Name); err != nil {
		t.Fatalf("proposals do not prepare: %v", err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.Rule+"|"+string(p.Category)+"|"+p.Subject)
	}
	return out
}

func TestRules(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		docs []string
		want []string
	}{
		{"decision without reason",
			[]string{"We decided to move billing to Postgres."},
			[]string{"decision_without_rationale|rationale|decision We decided to move billing to Postgres."}},
		{"decision with reason in the sentence",
			[]string{"We decided to move billing to Postgres because the old store lost writes."}, nil},
		{"decision with reason in the next sentence",
			[]string{"We decided to move billing to Postgres. The reason is lost writes."}, nil},
		{"markers",
			[]string{"Launch date: TBD.\nTODO write the migration for the schema"},
			[]string{"open_marker|timeline|open Launch date: TBD.", "open_marker|technical|open TODO write the migration for the schema"}},
		{"tbd in a word is not a marker", []string{"The TBDX list is long. TBDX means to-be-done extras."}, nil},
		{"open question",
			[]string{"Who approves vendor contracts over 10k?"},
			[]string{"open_question|relationship|question Who approves vendor contracts over 10k?"}},
		{"short question is not a gap", []string{"Really?"}, nil},
		{"undefined acronym, used in two documents, one gap",
			[]string{"The ZQX rollout slipped.", "ZQX numbers are in."},
			[]string{"undefined_acronym|context|acronym ZQX"}},
		{"defined acronym", []string{"The Zone Quota Exchange (ZQX) rollout slipped.", "ZQX numbers are in."}, nil},
		{"defined acronym, other form", []string{"ZQX stands for zone quota exchange. ZQX is late."}, nil},
		{"common acronyms are known", []string{"The CEO wants the API by Q3, ASAP."}, nil},
		{"shouting is not acronyms", []string{"URGENT PLEASE READ THIS NOW ABC"}, nil},
		{"undefined system",
			[]string{"Restart the Atlas service after deploys."},
			[]string{"undefined_system|technical|system Atlas service"}},
		{"system with owner", []string{"Restart the Atlas service after deploys.", "Atlas is owned by the data team."}, nil},
		{"system defined", []string{"Use the Atlas service.", "Atlas service is a cache in front of billing."}, nil},
		{"undescribed process",
			[]string{"Follow the release freeze process before Friday."},
			[]string{"undescribed_process|process|process release freeze process"}},
		{"described process",
			[]string{"Follow the release freeze process before Friday.", "Release freeze process: 1. tag 2. announce"}, nil},
		{"vague process", []string{"The whole process took a week."}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := rules(t, c.docs...); !slices.Equal(got, c.want) {
				t.Fatalf("proposals =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// TestDeterministic: the same batch gives the same proposals, so the
// fingerprints of a second run match the first.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	docs := []engram.AnalysisDocument{
		{ID: engram.NewID(), Title: "a", Content: "We agreed to drop KLM. Follow the vendor onboarding process. Who owns the Nimbus platform?"},
		{ID: engram.NewID(), Title: "b", Content: "KLM and QRS are TBD. The Nimbus platform is down."},
	}
	first, err := analyze.New().Analyze(context.Background(), docs)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		again, _ := analyze.New().Analyze(context.Background(), docs)
		a, _ := engram.PrepareProposals(first, docs, analyze.Name)
		b, _ := engram.PrepareProposals(again, docs, analyze.Name)
		if len(a) != len(b) || len(a) < 5 {
			t.Fatalf("%d then %d proposals", len(a), len(b))
		}
		for i := range a {
			if a[i].Fingerprint != b[i].Fingerprint || a[i].ContextJSON != b[i].ContextJSON {
				t.Fatalf("proposal %d differs: %+v vs %+v", i, a[i], b[i])
			}
		}
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := analyze.New().Analyze(ctx, []engram.AnalysisDocument{{ID: engram.NewID(), Content: "x"}}); err == nil {
		t.Fatal("a cancelled analysis succeeded")
	}
}
