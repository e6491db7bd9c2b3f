package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
)

// Typed views of the gap responses.
type (
	gapResp struct {
		Gap engram.GapDetail `json:"gap"`
	}
	gapListResp struct {
		Gaps       []engram.Gap `json:"gaps"`
		Pagination struct {
			Limit      int     `json:"limit"`
			HasMore    bool    `json:"has_more"`
			NextCursor *string `json:"next_cursor"`
		} `json:"pagination"`
	}
	answerResp struct {
		Answer    engram.GapAnswer `json:"answer"`
		GapStatus engram.GapStatus `json:"gap_status"`
	}
	gapStatsResp struct {
		Stats engram.GapStats `json:"stats"`
	}
)

// createGap makes a gap through the API and returns it.
func (e *env) createGap(t *testing.T, key string, body any) engram.GapDetail {
	t.Helper()
	return into[gapResp](t, e.call(t, "POST", "/api/knowledge/gaps", key, body).want(t, http.StatusCreated, "")).Gap
}

// authStatements warms key so that its authentication costs exactly one
// statement (the first use of a key also notes its use), and returns 1.
func (e *env) authStatements(t *testing.T, key string) int {
	t.Helper()
	e.call(t, "GET", "/api/knowledge/gaps/stats", key, nil).want(t, http.StatusOK, "")
	return 1
}

// TestGapWorkflow takes a gap from creation through answers, verification,
// closing and reopening, and checks each step in the responses, in the
// stats and against the statement counts.
func TestGapWorkflow(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		key, viewer := e.member.Secret, e.viewer.Secret
		auth := e.authStatements(t, key)
		e.authStatements(t, viewer)
		docs := e.create(t, key, "work billing notes")

		g := e.createGap(t, key, map[string]any{
			"title": "Why did billing move to Postgres?", "description": "The decision has no rationale on record.",
			"category": "rationale", "priority": 4, "questions": []string{"Why was it moved?", "What else was considered?"},
			"document_ids": docs,
		})
		if g.Status != engram.GapOpen || g.QuestionCount != 2 || len(g.Questions) != 2 || !slices.Equal(g.DocumentIDs, docs) ||
			g.Category != engram.GapRationale || g.Priority != 4 || g.ClosedAt != nil {
			t.Fatalf("created gap = %+v", g)
		}
		path := "/api/knowledge/gaps/" + g.ID

		// Viewers read, and only read.
		r := e.call(t, "GET", path, viewer, nil).want(t, http.StatusOK, "")
		if r.Statements != auth+2 {
			t.Fatalf("get took %d statements, want %d", r.Statements, auth+2)
		}
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/api/knowledge/gaps", `{"title":"t","category":"process","questions":["q"]}`},
			{"PATCH", path, `{"title":"x"}`},
			{"DELETE", path, ""},
			{"PUT", path + "/status", `{"status":"closed"}`},
			{"POST", "/api/knowledge/gaps/bulk/status", `{"gap_ids":["` + g.ID + `"],"status":"closed"}`},
			{"POST", path + "/answers", `{"question_index":0,"answer_text":"x"}`},
			{"POST", path + "/feedback", `{"useful":true}`},
			{"POST", "/api/knowledge/analyze", `{}`},
		} {
			var body any
			if c.body != "" {
				body = c.body
			}
			e.call(t, c.method, c.path, viewer, body).want(t, http.StatusForbidden, engram.EForbidden)
		}

		// Answers: a question out of range is the caller's mistake.
		e.call(t, "POST", path+"/answers", key, `{"question_index":2,"answer_text":"x"}`).
			want(t, http.StatusBadRequest, engram.EInvalid, "question_index", "from 0 to 1")
		e.call(t, "POST", path+"/answers", key, `{"answer_text":"x"}`).want(t, http.StatusBadRequest, engram.EInvalid, "question_index")
		e.call(t, "POST", path+"/answers", key, `{"question_index":0,"answer_text":" "}`).want(t, http.StatusBadRequest, engram.EInvalid, "answer_text")
		answer := func(index int, text string, want engram.GapStatus) engram.GapAnswer {
			t.Helper()
			r := e.call(t, "POST", path+"/answers", key, map[string]any{"question_index": index, "answer_text": text}).want(t, http.StatusCreated, "")
			a := into[answerResp](t, r)
			if _, ok := engram.ParseID(a.Answer.ID); !ok || a.GapStatus != want || a.Answer.QuestionIndex != index {
				t.Fatalf("answer = %s, want status %s", r.Raw, want)
			}
			if r.Statements != auth+3 {
				t.Fatalf("answer took %d statements, want %d", r.Statements, auth+3)
			}
			return a.Answer
		}
		verify := func(a engram.GapAnswer, want engram.GapStatus) {
			t.Helper()
			r := e.call(t, "POST", path+"/answers/"+a.ID+"/verify", key, nil).want(t, http.StatusOK, "")
			if v := into[answerResp](t, r); !v.Answer.IsVerified || v.GapStatus != want {
				t.Fatalf("verify = %s, want %s", r.Raw, want)
			}
		}
		a0 := answer(0, "The old store lost writes under load.", engram.GapInProgress)
		a1 := answer(1, "MySQL and staying put.", engram.GapAnswered)
		verify(a0, engram.GapAnswered)
		verify(a1, engram.GapVerified)
		r = e.call(t, "PUT", path+"/answers/"+a1.ID, key, `{"answer_text":"MySQL, DynamoDB and staying put."}`).want(t, http.StatusOK, "")
		if u := into[answerResp](t, r); u.Answer.IsVerified || u.GapStatus != engram.GapAnswered || u.Answer.AnswerText != "MySQL, DynamoDB and staying put." {
			t.Fatalf("update answer = %s", r.Raw)
		}
		verify(a1, engram.GapVerified)
		e.call(t, "POST", path+"/answers/"+engram.NewID()+"/verify", key, nil).want(t, http.StatusNotFound, engram.ENotFound)

		// A person closes it; answers do not reopen it; reopening clears
		// closed_at.
		c := into[gapResp](t, e.call(t, "PUT", path+"/status", key, `{"status":"closed"}`).want(t, http.StatusOK, "")).Gap
		if c.Status != engram.GapClosed || c.ClosedAt == nil || len(c.Answers) != 2 {
			t.Fatalf("closed gap = %+v", c)
		}
		answer(0, "Also: cost.", engram.GapClosed)
		o := into[gapResp](t, e.call(t, "PUT", path+"/status", key, `{"status":"open"}`).want(t, http.StatusOK, "")).Gap
		if o.Status != engram.GapOpen || o.ClosedAt != nil {
			t.Fatalf("reopened gap = %+v", o)
		}
		e.call(t, "PUT", path+"/status", key, `{"status":"done"}`).want(t, http.StatusBadRequest, engram.EInvalid, "status", "open, in_progress, answered, verified, closed")

		// Patch, feedback, stats.
		p := into[gapResp](t, e.call(t, "PATCH", path, key, `{"priority":5,"category":"decision"}`).want(t, http.StatusOK, "")).Gap
		if p.Priority != 5 || p.Category != engram.GapDecision || p.Title != g.Title {
			t.Fatalf("patched = %+v", p)
		}
		e.call(t, "POST", path+"/feedback", key, `{"useful":true,"comment":"good catch"}`).want(t, http.StatusCreated, "")
		r = e.call(t, "POST", path+"/feedback", key, `{"useful":false}`).want(t, http.StatusCreated, "")
		if !strings.Contains(string(r.Raw), `"feedback":{"useful":1,"not_useful":1}`) {
			t.Fatalf("feedback = %s", r.Raw)
		}
		e.call(t, "POST", path+"/feedback", key, `{"comment":"?"}`).want(t, http.StatusBadRequest, engram.EInvalid, "useful")
		r = e.call(t, "GET", "/api/knowledge/gaps/stats", viewer, nil).want(t, http.StatusOK, "")
		if r.Statements != auth+1 {
			t.Fatalf("stats took %d statements, want %d", r.Statements, auth+1)
		}
		var raw struct {
			Stats map[string]any `json:"stats"`
		}
		if err := json.Unmarshal(r.Raw, &raw); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"total_gaps", "open_gaps", "in_progress_gaps", "answered_gaps", "verified_gaps", "closed_gaps",
			"by_category", "total_answers", "verified_answers", "useful_feedback", "not_useful_feedback", "feedback_ratio"} {
			if _, ok := raw.Stats[k]; !ok {
				t.Fatalf("stats lack %s: %s", k, r.Raw)
			}
		}
		st := into[gapStatsResp](t, r).Stats
		if st.TotalGaps != 1 || st.OpenGaps != 1 || st.TotalAnswers != 3 || st.VerifiedAnswers != 2 || len(st.ByCategory) != 8 ||
			st.ByCategory[engram.GapDecision] != 1 || *st.FeedbackRatio != 0.5 {
			t.Fatalf("stats = %s", r.Raw)
		}

		// Delete.
		e.call(t, "DELETE", path, key, nil).want(t, http.StatusOK, "")
		e.call(t, "GET", path, key, nil).want(t, http.StatusNotFound, engram.ENotFound)
		e.call(t, "DELETE", path, key, nil).want(t, http.StatusNotFound, engram.ENotFound)
	})
}

// TestGapInputErrors: each bad input is a 400 that names its field.
func TestGapInputErrors(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		key := e.member.Secret
		g := e.createGap(t, key, `{"title":"t","category":"process","questions":["q"]}`)
		if g.Priority != engram.DefaultGapPriority || g.Description != "" {
			t.Fatalf("defaults = %+v", g.Gap)
		}
		long := strings.Repeat("x", engram.MaxGapTitleLen+1)
		for _, c := range []struct {
			method, path, body string
			msg                []string
		}{
			{"POST", "/api/knowledge/gaps", `{"title":"t","category":"gossip","questions":["q"]}`, []string{"category", "decision, technical, process, context, relationship, timeline, outcome, rationale"}},
			{"POST", "/api/knowledge/gaps", `{"title":"t","category":"process","priority":0,"questions":["q"]}`, []string{"priority", "from 1 to 5"}},
			{"POST", "/api/knowledge/gaps", `{"title":"t","category":"process","priority":9,"questions":["q"]}`, []string{"priority", "from 1 to 5"}},
			{"POST", "/api/knowledge/gaps", `{"title":"t","category":"process","questions":[]}`, []string{"questions", "at least one"}},
			{"POST", "/api/knowledge/gaps", `{"title":"` + long + `","category":"process","questions":["q"]}`, []string{"title", "at most 500"}},
			{"POST", "/api/knowledge/gaps", `{"title":"t","category":"process","questions":["q"],"document_ids":["` + engram.NewID() + `"]}`, []string{"document_ids"}},
			{"POST", "/api/knowledge/gaps", `{"title":"t","category":"process","questions":["q"],"owner":"x"}`, []string{"unknown field"}},
			{"PATCH", "/api/knowledge/gaps/" + g.ID, `{}`, []string{"nothing to change"}},
			{"PATCH", "/api/knowledge/gaps/" + g.ID, `{"category":"x"}`, []string{"category"}},
			{"POST", "/api/knowledge/gaps/bulk/status", `{"gap_ids":[],"status":"closed"}`, []string{"gap_ids"}},
			{"POST", "/api/knowledge/gaps/bulk/status", `{"gap_ids":["` + g.ID + `"]}`, []string{"status", "required"}},
			{"GET", "/api/knowledge/gaps?priority_min=0", "", []string{"priority_min"}},
			{"GET", "/api/knowledge/gaps?status=new", "", []string{"status", "open, in_progress"}},
			{"GET", "/api/knowledge/gaps?cursor=abc", "", []string{"cursor"}},
			{"GET", "/api/knowledge/gaps/nope", "", []string{"id"}},
			{"POST", "/api/knowledge/analyze", `{"max_documents":0}`, []string{"max_documents"}},
		} {
			var body any
			if c.body != "" {
				body = c.body
			}
			e.call(t, c.method, c.path, key, body).want(t, http.StatusBadRequest, engram.EInvalid, c.msg...)
		}
		ids := make([]string, engram.MaxBulkIDs+1)
		for i := range ids {
			ids[i] = engram.NewID()
		}
		e.call(t, "POST", "/api/knowledge/gaps/bulk/status", key, map[string]any{"gap_ids": ids, "status": "closed"}).
			want(t, http.StatusBadRequest, engram.EInvalid, "gap_ids", "at most 10000")
	})
}

// TestGapListPages pages through the list by cursor and checks the order
// and the per-item counts.
func TestGapListPages(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		key := e.member.Secret
		var want []string
		for _, prio := range []int{1, 4, 2, 4, 5} {
			g := e.createGap(t, key, map[string]any{"title": "gap", "category": "process", "priority": prio, "questions": []string{"a", "b"}})
			want = append(want, g.ID)
		}
		e.call(t, "POST", "/api/knowledge/gaps/"+want[3]+"/answers", key, `{"question_index":1,"answer_text":"x"}`).want(t, http.StatusCreated, "")
		want = []string{want[4], want[3], want[1], want[2], want[0]}
		auth := e.authStatements(t, key)
		var got []string
		path := "/api/knowledge/gaps?limit=2"
		for {
			r := e.call(t, "GET", path, key, nil).want(t, http.StatusOK, "")
			if r.Statements != auth+1 {
				t.Fatalf("list took %d statements, want %d", r.Statements, auth+1)
			}
			l := into[gapListResp](t, r)
			for _, g := range l.Gaps {
				got = append(got, g.ID)
				if wantAnswered := map[bool]int{true: 1}[g.ID == want[1]]; g.QuestionCount != 2 || g.AnsweredCount != wantAnswered {
					t.Fatalf("counts of %s = %d/%d", g.ID, g.AnsweredCount, g.QuestionCount)
				}
			}
			if !l.Pagination.HasMore {
				break
			}
			path = "/api/knowledge/gaps?limit=2&cursor=" + *l.Pagination.NextCursor
		}
		if !slices.Equal(got, want) {
			t.Fatalf("order = %v, want %v", got, want)
		}
		l := into[gapListResp](t, e.call(t, "GET", "/api/knowledge/gaps?priority_min=4&status=in_progress&category=process", key, nil))
		if len(l.Gaps) != 1 || l.Gaps[0].ID != want[1] {
			t.Fatalf("filtered list = %+v", l.Gaps)
		}
	})
}

// TestGapAnalyze runs the built-in analysis through the API twice: the
// second run over the same documents creates nothing.
func TestGapAnalyze(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		key := e.member.Secret
		r := e.call(t, "POST", "/api/documents", key, map[string]any{"documents": []map[string]any{
			{"title": "work: platform sync", "content": "We decided to retire the Hermes service.\nLaunch date: TBD.\nThe KPX numbers look fine."},
			{"title": "personal: holiday", "content": "We decided to go to Crete. The ZZQ villa is TBD."},
		}})
		ids := into[createResp](t, r.want(t, http.StatusCreated, "")).IDs
		e.call(t, "PUT", "/api/documents/"+ids[0]+"/classify", key, `{"classification":"work"}`).want(t, http.StatusOK, "")
		e.call(t, "PUT", "/api/documents/"+ids[1]+"/classify", key, `{"classification":"personal"}`).want(t, http.StatusOK, "")

		runJobs(t, s)
		first := e.analyze(t, key, nil)
		if first.DocumentsScanned != 1 || first.GapsCreated < 3 || first.GapsUpdated != 0 {
			t.Fatalf("first analysis = %+v", first)
		}
		second := e.analyze(t, key, `{"max_documents":10}`)
		if second.DocumentsScanned != 1 || second.GapsCreated != 0 || second.GapsUpdated != first.GapsCreated {
			t.Fatalf("second analysis = %+v after %+v", second, first)
		}
		l := into[gapListResp](t, e.call(t, "GET", "/api/knowledge/gaps?limit=200", key, nil))
		if len(l.Gaps) != first.GapsCreated {
			t.Fatalf("%d gaps listed, %d created", len(l.Gaps), first.GapsCreated)
		}
		for _, g := range l.Gaps {
			d := into[gapResp](t, e.call(t, "GET", "/api/knowledge/gaps/"+g.ID, key, nil)).Gap
			if g.Fingerprint == nil || !slices.Equal(d.DocumentIDs, ids[:1]) || !strings.Contains(string(d.Context), ids[0]) ||
				strings.Contains(string(d.Context), "Crete") {
				t.Fatalf("analysed gap = %+v", d)
			}
		}
	})
}

// TestGapCrossTenant gives tenant B's key every gap endpoint with tenant
// A's ids: each is not_found, bulk reports A's ids as not found, and A's
// gap is unchanged.
func TestGapCrossTenant(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		runJobs(t, s)
		aKey := e.admin.Secret
		_, bNewKey, err := s.CreateTenant(context.Background(), "Beta", "beta")
		if err != nil {
			t.Fatal(err)
		}
		bKey := bNewKey.Secret
		aDoc := e.create(t, aKey, "work a")[0]
		e.call(t, "PUT", "/api/documents/"+aDoc+"/classify", aKey, `{"classification":"work"}`).want(t, http.StatusOK, "")
		ag := e.createGap(t, aKey, map[string]any{"title": "A's gap", "category": "context", "questions": []string{"q0", "q1"}, "document_ids": []string{aDoc}})
		ans := into[answerResp](t, e.call(t, "POST", "/api/knowledge/gaps/"+ag.ID+"/answers", aKey, `{"question_index":0,"answer_text":"A"}`)).Answer
		before := into[gapResp](t, e.call(t, "GET", "/api/knowledge/gaps/"+ag.ID, aKey, nil)).Gap
		bg := e.createGap(t, bKey, map[string]any{"title": "B's gap", "category": "context", "questions": []string{"q"}})

		p := "/api/knowledge/gaps/" + ag.ID
		for _, c := range []struct{ method, path, body string }{
			{"GET", p, ""},
			{"PATCH", p, `{"title":"hijacked"}`},
			{"PUT", p + "/status", `{"status":"closed"}`},
			{"POST", p + "/answers", `{"question_index":0,"answer_text":"B"}`},
			{"PUT", p + "/answers/" + ans.ID, `{"answer_text":"B"}`},
			{"POST", p + "/answers/" + ans.ID + "/verify", ""},
			{"PUT", "/api/knowledge/gaps/" + bg.ID + "/answers/" + ans.ID, `{"answer_text":"B"}`},
			{"POST", "/api/knowledge/gaps/" + bg.ID + "/answers/" + ans.ID + "/verify", ""},
			{"POST", p + "/feedback", `{"useful":false}`},
			{"DELETE", p, ""},
		} {
			var body any
			if c.body != "" {
				body = c.body
			}
			r := e.call(t, c.method, c.path, bKey, body)
			if r.Status != http.StatusNotFound || r.Body["code"] != engram.ENotFound {
				t.Errorf("B: %s %s = %d %s, want 404", c.method, c.path, r.Status, r.Raw)
			}
		}
		// B cannot link A's document.
		e.call(t, "POST", "/api/knowledge/gaps", bKey, map[string]any{"title": "x", "category": "context", "questions": []string{"q"}, "document_ids": []string{aDoc}}).
			want(t, http.StatusBadRequest, engram.EInvalid, "document_ids")
		// Bulk with mixed ids: B's own closes, A's is not found.
		r := e.call(t, "POST", "/api/knowledge/gaps/bulk/status", bKey, map[string]any{"gap_ids": []string{bg.ID, ag.ID}, "status": "closed"}).want(t, http.StatusOK, "")
		if r.Body["updated"] != 1.0 || !slices.Equal(into[struct {
			NotFound []string `json:"not_found"`
		}](t, r).NotFound, []string{ag.ID}) {
			t.Fatalf("B's bulk = %s", r.Raw)
		}
		// B's list, stats and analysis leave A out.
		if l := into[gapListResp](t, e.call(t, "GET", "/api/knowledge/gaps", bKey, nil)); len(l.Gaps) != 1 || l.Gaps[0].ID != bg.ID {
			t.Fatalf("B's list = %+v", l.Gaps)
		}
		if st := into[gapStatsResp](t, e.call(t, "GET", "/api/knowledge/gaps/stats", bKey, nil)).Stats; st.TotalGaps != 1 || st.TotalAnswers != 0 {
			t.Fatalf("B's stats = %+v", st)
		}
		if sum := e.analyze(t, bKey, nil); sum.DocumentsScanned != 0 {
			t.Fatalf("B's analysis read A's documents: %+v", sum)
		}

		after := into[gapResp](t, e.call(t, "GET", "/api/knowledge/gaps/"+ag.ID, aKey, nil)).Gap
		a, b := before, after
		if a.Title != b.Title || a.Status != b.Status || b.ClosedAt != nil || len(b.Answers) != 1 || b.Answers[0].AnswerText != "A" || b.Answers[0].IsVerified || !b.Answers[0].UpdatedAt.Equal(a.Answers[0].UpdatedAt) ||
			!b.UpdatedAt.Equal(a.UpdatedAt) || b.FeedbackNotUseful != 0 || !slices.Equal(a.DocumentIDs, b.DocumentIDs) {
			t.Fatalf("B changed A's gap:\nbefore %+v\nafter  %+v", a, b)
		}
	})
}
