package classify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify"
)

func classifyOne(t *testing.T, settings string, d engram.ClassifyInput) engram.ClassifyResult {
	t.Helper()
	res, err := classify.New().Classify(context.Background(), json.RawMessage(settings), []engram.ClassifyInput{d})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("got %d results for 1 document", len(res))
	}
	return res[0]
}

const acme = `{"classifier": {"work_domains": ["acme.com"], "personal_domains": ["example-family.org"], "spam_domains": ["offers.example"]}}`

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		settings string
		doc      engram.ClassifyInput
		want     engram.Classification
		minConf  float64
		maxConf  float64
		// reason must contain every one of these.
		reason []string
	}{
		{
			name: "tenant work domain", settings: acme,
			doc:  engram.ClassifyInput{Title: "Notes", Content: "See attached.", SenderEmail: "ann@acme.com", SourceType: "mail"},
			want: engram.ClassWork, minConf: 0.8, maxConf: 0.97, reason: []string{"sender domain acme.com is a work domain"},
		},
		{
			name: "subdomain of tenant work domain", settings: acme,
			doc:  engram.ClassifyInput{Title: "Notes", SenderEmail: "Ann <ann@Mail.ACME.com>"},
			want: engram.ClassWork, minConf: 0.8, maxConf: 0.97, reason: []string{"mail.acme.com is a work domain"},
		},
		{
			name: "top-level work_domains", settings: `{"work_domains": ["@Acme.com"]}`,
			doc:  engram.ClassifyInput{Title: "Notes", SenderEmail: "ann@acme.com"},
			want: engram.ClassWork, minConf: 0.8, maxConf: 0.97,
		},
		{
			name: "tenant list overrides webmail", settings: `{"work_domains": ["gmail.com"]}`,
			doc:  engram.ClassifyInput{Title: "Notes", SenderEmail: "ann@gmail.com"},
			want: engram.ClassWork, minConf: 0.8, maxConf: 0.97,
		},
		{
			name: "tenant personal domain", settings: acme,
			doc:  engram.ClassifyInput{Title: "Notes", SenderEmail: "mum@example-family.org"},
			want: engram.ClassPersonal, minConf: 0.8, maxConf: 0.97,
		},
		{
			name: "tenant spam domain", settings: acme,
			doc:  engram.ClassifyInput{Title: "Notes", SenderEmail: "deals@news.offers.example"},
			want: engram.ClassSpam, minConf: 0.8, maxConf: 0.97,
		},
		{
			name: "gmail with birthday", settings: "",
			doc: engram.ClassifyInput{Title: "Saturday", Content: "Are you coming to Tom's birthday? Dinner at 8.",
				SenderEmail: "ann@gmail.com", SourceType: "mail"},
			want: engram.ClassPersonal, minConf: 0.65, maxConf: 0.97,
			reason: []string{"personal signals: 'birthday', 'dinner'", "sender domain gmail.com is webmail"},
		},
		{
			name: "obvious spam", settings: "{}",
			doc: engram.ClassifyInput{Title: "WINNER!! CLAIM YOUR PRIZE NOW",
				Content:     "Dear friend, you have been selected in our lottery! Click here to claim $1,000,000 $$$. 100% free, act now, limited time. Unsubscribe.",
				SenderEmail: "promo@deals.example", SourceType: "mail"},
			want: engram.ClassSpam, minConf: 0.8, maxConf: 0.97, reason: []string{"spam signals: "},
		},
		{
			name: "work tool with work words",
			doc:  engram.ClassifyInput{Title: "Sprint review", Content: "Deadlines for the release; see the pull request.", SourceType: "slack"},
			want: engram.ClassWork, minConf: 0.8, maxConf: 0.97, reason: []string{"source slack is a work tool"},
		},
		{
			name: "plurals", doc: engram.ClassifyInput{Title: "Meetings", Content: "Deadlines and invoices."},
			want: engram.ClassWork, minConf: 0.65, maxConf: 0.97,
		},
		{
			name: "empty", doc: engram.ClassifyInput{},
			want: engram.ClassUnknown, maxConf: 0.49, reason: []string{"no clear signals"},
		},
		{
			name: "neutral", doc: engram.ClassifyInput{Title: "Notes", Content: "The file is attached.", SourceType: "folder"},
			want: engram.ClassUnknown, maxConf: 0.49, reason: []string{"no clear signals"},
		},
		{
			name: "single weak signal", doc: engram.ClassifyInput{Title: "Notes", Content: "It is free."},
			want: engram.ClassUnknown, maxConf: 0.49, reason: []string{"weak evidence: spam signals: 'free'"},
		},
		{
			name: "conflicting evidence",
			doc: engram.ClassifyInput{Title: "Meeting", Content: "Happy birthday!",
				SenderEmail: "ann@gmail.com", SourceType: "slack"},
			want: engram.ClassUnknown, maxConf: 0.49, reason: []string{"conflicting evidence: "},
		},
		{
			name: "whole words only", doc: engram.ClassifyInput{Title: "Products", Content: "Dadaism, freedom and Essex; a sonnet."},
			want: engram.ClassUnknown, maxConf: 0.49, reason: []string{"no clear signals"},
		},
		{
			name: "markup is not text",
			doc:  engram.ClassifyInput{Content: `<table width="100%"><!-- free!!! --><tr><td style="font-family: x">Notes</td></tr></table><style>.free{}</style>`},
			want: engram.ClassUnknown, maxConf: 0.49, reason: []string{"no clear signals"},
		},
		{
			name: "brand host is not webmail", doc: engram.ClassifyInput{Title: "Notes", SenderEmail: "ops@live.acme.com"},
			want: engram.ClassUnknown, maxConf: 0.49, reason: []string{"no clear signals"},
		},
		{
			name: "country webmail", doc: engram.ClassifyInput{Title: "Notes", SenderEmail: "ann@yahoo.co.uk"},
			want: engram.ClassUnknown, maxConf: 0.49, reason: []string{"yahoo.co.uk is webmail"},
		},
		{
			name: "content beyond the limit is not read",
			doc:  engram.ClassifyInput{Content: strings.Repeat("notes ", classify.MaxContentBytes/6+1) + "viagra casino lottery"},
			want: engram.ClassUnknown, maxConf: 0.49, reason: []string{"no clear signals"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := classifyOne(t, tt.settings, tt.doc)
			if got.Classification != tt.want || got.Confidence < tt.minConf || got.Confidence > tt.maxConf {
				t.Errorf("got %s %.3f (%s), want %s in [%.2f, %.2f]", got.Classification, got.Confidence, got.Reason, tt.want, tt.minConf, tt.maxConf)
			}
			if wantBorder := got.Confidence < engram.BorderlineConfidence; wantBorder && !got.IsBorderline {
				t.Errorf("confidence %.3f but not borderline", got.Confidence)
			}
			for _, r := range tt.reason {
				if !strings.Contains(got.Reason, r) {
					t.Errorf("reason %q does not contain %q", got.Reason, r)
				}
			}
		})
	}
}

func TestSettingsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		settings string
		names    string // the setting the message must name
	}{
		{`not json`, "settings"},
		{`[1, 2]`, "settings"},
		{`{"classifier": []}`, "classifier"},
		{`{"classifier": {"work_domains": "acme.com"}}`, "classifier.work_domains"},
		{`{"classifier": {"personal_domains": [1]}}`, "classifier.personal_domains"},
		{`{"classifier": {"spam_domains": ["not a domain"]}}`, "classifier.spam_domains"},
		{`{"work_domains": ["acme"]}`, "work_domains"},
	}
	for _, tt := range tests {
		t.Run(tt.settings, func(t *testing.T) {
			t.Parallel()
			res, err := classify.New().Classify(context.Background(), json.RawMessage(tt.settings), []engram.ClassifyInput{{}})
			var e *engram.Error
			if !errors.As(err, &e) || e.Code != engram.EInvalid {
				t.Fatalf("got %v, %v; want an invalid_argument *engram.Error", res, err)
			}
			if !strings.Contains(e.Message, tt.names) {
				t.Errorf("message %q does not name %q", e.Message, tt.names)
			}
		})
	}
	for _, ok := range []string{``, `null`, `{}`, ` {"theme": "dark", "classifier": null} `, `{"classifier": {"work_domains": null, "model": "x"}}`} {
		if _, err := classify.New().Classify(context.Background(), json.RawMessage(ok), nil); err != nil {
			t.Errorf("settings %q: %v", ok, err)
		}
	}
}

// TestBatch checks what every batch must satisfy: one valid result per
// document, in order, the same as classifying each alone and the same on
// every run, with honest confidences and short reasons.
func TestBatch(t *testing.T) {
	t.Parallel()
	docs := syntheticDocs(2000)
	var zero classify.Rules
	first, err := zero.Classify(context.Background(), json.RawMessage(acme), docs)
	if err != nil {
		t.Fatal(err)
	}
	again, err := classify.New().Classify(context.Background(), json.RawMessage(acme), docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(docs) {
		t.Fatalf("got %d results for %d documents", len(first), len(docs))
	}
	if !reflect.DeepEqual(first, again) {
		t.Error("two runs over the same batch differ")
	}
	seen := map[engram.Classification]int{}
	for i, r := range first {
		seen[r.Classification]++
		if !r.Classification.Valid() || r.Confidence < 0 || r.Confidence > 0.97 || len(r.Reason) > 200 || r.Reason == "" {
			t.Errorf("doc %d: invalid result %+v", i, r)
		}
		if r.Classification == engram.ClassUnknown && (r.Confidence >= 0.5 || !r.IsBorderline) {
			t.Errorf("doc %d: unknown must be low-confidence and borderline: %+v", i, r)
		}
		if i%97 == 0 {
			if alone := classifyOne(t, acme, docs[i]); alone != r {
				t.Errorf("doc %d: in batch %+v, alone %+v", i, r, alone)
			}
		}
	}
	for _, c := range engram.Classifications {
		if seen[c] == 0 {
			t.Errorf("no document classified %s: the synthetic batch does not exercise every class", c)
		}
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := classify.New().Classify(ctx, nil, syntheticDocs(10))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func BenchmarkClassify10k(b *testing.B) {
	docs := syntheticDocs(10000)
	settings := json.RawMessage(acme)
	r := classify.New()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Classify(context.Background(), settings, docs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(docs)), "ns/doc")
}

// syntheticDocs builds a reproducible mix of work, personal, spam and
// neutral documents of one to five kilobytes, some of them HTML.
func syntheticDocs(n int) []engram.ClassifyInput {
	rng := rand.New(rand.NewPCG(1, 2))
	themes := []struct {
		senders, phrases []string
	}{
		{[]string{"ann@acme.com", "ops@eng.acme.com", "team@vendor.example"},
			[]string{"the meeting moved to Tuesday", "deadline for the release", "see the pull request", "customer incident review"}},
		{[]string{"bob@gmail.com", "x@yahoo.co.uk", "mum@example-family.org"},
			[]string{"happy birthday", "dinner with mom", "weekend plans with the kids", "wedding photos"}},
		{[]string{"deals@promo.example", "win@hotmail.com", "a@offers.example"},
			[]string{"click here", "100% free", "act now", "limited time offer", "dear friend", "$$$ million dollars", "UNSUBSCRIBE"}},
		{[]string{"", "notes@files.example"},
			[]string{"lorem ipsum dolor sit amet", "the quick brown fox jumps over the lazy dog"}},
	}
	sources := []string{"mail", "mail", "slack", "folder", "api", "github"}
	filler := "Some filler text that says nothing in particular about anything at all.\n"
	docs := make([]engram.ClassifyInput, n)
	for i := range docs {
		th := themes[rng.IntN(len(themes))]
		var b strings.Builder
		html := rng.IntN(5) == 0
		if html {
			b.WriteString(`<html><body><table width="100%">`)
		}
		for range 10 + rng.IntN(60) {
			if html {
				b.WriteString("<tr><td>")
			}
			switch rng.IntN(10) {
			case 0:
				b.WriteString(th.phrases[rng.IntN(len(th.phrases))] + ". ")
			case 1:
				// Noise from another theme, as real documents have.
				other := themes[rng.IntN(len(themes))].phrases
				b.WriteString(other[rng.IntN(len(other))] + ". ")
			}
			b.WriteString(filler)
		}
		docs[i] = engram.ClassifyInput{
			ID:          fmt.Sprint(i),
			Title:       th.phrases[rng.IntN(len(th.phrases))],
			Content:     b.String(),
			SenderEmail: th.senders[rng.IntN(len(th.senders))],
			SourceType:  sources[rng.IntN(len(sources))],
		}
	}
	return docs
}

// TestReasonNamesSignalOnce: "cash" in the subject and the body fire two
// rules of one label; the reason names it once (issue 15).
func TestReasonNamesSignalOnce(t *testing.T) {
	t.Parallel()
	r := classifyOne(t, "", engram.ClassifyInput{Title: "Save cash now", Content: "save cash, win, free"})
	if n := strings.Count(r.Reason, "'cash'"); n != 1 {
		t.Errorf("reason names 'cash' %d times: %q", n, r.Reason)
	}
}
