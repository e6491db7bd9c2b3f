package web

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/engram-kb/engram"
	enghttp "github.com/engram-kb/engram/http"
)

// The pages. Each reads what it shows through the store, in a few
// statements whatever the tenant's size (keyset pages, counts the store
// keeps in one statement), and leaves every change to the JSON API.

type documentsView struct {
	Filter     url.Values
	Docs       []engram.Document
	Stats      engram.DocumentStats
	Connectors []engram.Connector
	Next       string
	First      bool
	Statuses   []engram.DocumentStatus
	Classes    []engram.Classification
	Confirmed  int
	// APIQuery is the list's filters as GET /api/documents reads them,
	// for "select all matching".
	APIQuery string
}

func (h *Handler) documents(r *http.Request, p engram.Principal, v *view) (string, error) {
	v.Title, v.Active = "Documents", "documents"
	q := query(r)
	dv := documentsView{Filter: q, Statuses: engram.DocumentStatuses, Classes: engram.Classifications, First: q.Get("cursor") == ""}
	api := url.Values{}
	for k, vs := range q {
		api[k] = vs
	}
	dateToTime(api, "created_after", false)
	dateToTime(api, "created_before", true)
	if api.Get("limit") == "" {
		api.Set("limit", "50")
	}
	f, err := enghttp.PageDocumentFilter(api)
	if err != nil {
		return "", err
	}
	page, err := h.store.ListDocuments(r.Context(), p.TenantID, f)
	if err != nil {
		return "", err
	}
	dv.Docs = page.Documents
	all := url.Values{}
	for k, vs := range api {
		if k != "cursor" && k != "limit" {
			all[k] = vs
		}
	}
	dv.APIQuery = all.Encode()
	if page.HasMore {
		next := url.Values{}
		for k, vs := range q {
			next[k] = vs
		}
		next.Set("cursor", page.NextCursor)
		dv.Next = "/documents?" + next.Encode()
	}
	if dv.Stats, err = h.store.DocumentStats(r.Context(), p.TenantID); err != nil {
		return "", err
	}
	dv.Confirmed = dv.Stats.ByStatus[engram.StatusConfirmed]
	if dv.Connectors, err = h.store.ListConnectors(r.Context(), p.TenantID); err != nil {
		return "", err
	}
	v.Data = dv
	return "documents", nil
}

type documentView struct {
	Doc    engram.Document
	Chunks []engram.Chunk
	Meta   string
}

func (h *Handler) document(r *http.Request, p engram.Principal, v *view) (string, error) {
	v.Active = "documents"
	d, err := h.store.GetDocument(r.Context(), p.TenantID, r.PathValue("id"), true)
	if err != nil {
		return "", err
	}
	v.Title = d.Title
	dv := documentView{Doc: d}
	if d.Content != nil {
		// The chunks are the store's own split of the content (the rule
		// it indexed them by), not a copy of it.
		dv.Chunks = engram.SplitChunks(*d.Content)
	}
	if len(d.Metadata) > 0 && string(d.Metadata) != "{}" && string(d.Metadata) != "null" {
		var m any
		if json.Unmarshal(d.Metadata, &m) == nil {
			b, _ := json.MarshalIndent(m, "", "  ")
			dv.Meta = string(b)
		}
	}
	v.Data = dv
	return "document", nil
}

type reviewView struct {
	Docs  []engram.Document
	Stats engram.DocumentStats
	Next  string
}

func (h *Handler) review(r *http.Request, p engram.Principal, v *view) (string, error) {
	v.Title, v.Active = "Review queue", "review"
	f := engram.DocumentFilter{NeedsReview: true, Sort: engram.SortConfidence, Limit: engram.MaxListLimit}
	page, err := h.store.ListDocuments(r.Context(), p.TenantID, f)
	if err != nil {
		return "", err
	}
	rv := reviewView{Docs: page.Documents}
	if page.HasMore {
		rv.Next = page.NextCursor
	}
	if rv.Stats, err = h.store.DocumentStats(r.Context(), p.TenantID); err != nil {
		return "", err
	}
	v.Data = rv
	return "review", nil
}

type searchView struct {
	Query   string
	Mode    engram.SearchMode
	Results []searchResult
	Next    string
	Error   string
}

type searchResult struct {
	engram.SearchResult
	Parts []snippetPart
}

// snippetPart is a run of a snippet, matched or not; the template marks
// the matched runs, escaping both.
type snippetPart struct {
	Text string
	Hit  bool
}

// highlight splits a snippet at its matches (code point offsets).
func highlight(snippet string, matches []engram.SearchMatch) []snippetPart {
	runes := []rune(snippet)
	var parts []snippetPart
	at := 0
	for _, m := range matches {
		if m.Start < at || m.End > len(runes) || m.Start >= m.End {
			continue
		}
		if m.Start > at {
			parts = append(parts, snippetPart{Text: string(runes[at:m.Start])})
		}
		parts = append(parts, snippetPart{Text: string(runes[m.Start:m.End]), Hit: true})
		at = m.End
	}
	if at < len(runes) {
		parts = append(parts, snippetPart{Text: string(runes[at:])})
	}
	return parts
}

func (h *Handler) search(r *http.Request, p engram.Principal, v *view) (string, error) {
	v.Title, v.Active = "Search", "search"
	q := query(r)
	sv := searchView{Query: q.Get("q")}
	v.Data = &sv
	if sv.Query == "" {
		return "search", nil
	}
	in, err := enghttp.PageSearchInput(q)
	if err != nil {
		sv.Error = h.message(r, err)
		return "search", nil
	}
	page, err := h.store.Search(r.Context(), p.TenantID, in)
	if err != nil {
		if engram.ErrorCode(err) == engram.EInvalid {
			sv.Error = h.message(r, err)
			return "search", nil
		}
		return "", err
	}
	sv.Mode = page.Mode
	for _, res := range page.Results {
		sv.Results = append(sv.Results, searchResult{res, highlight(res.Snippet, res.Matches)})
	}
	if page.HasMore {
		q.Set("cursor", page.NextCursor)
		sv.Next = "/search?" + q.Encode()
	}
	v.Title = "Search: " + sv.Query
	return "search", nil
}

func (h *Handler) ask(r *http.Request, p engram.Principal, v *view) (string, error) {
	v.Title, v.Active = "Ask", "ask"
	return "ask", nil
}

type gapsView struct {
	Columns []gapColumn
	Stats   engram.GapStats
	Charts  []chart
	Empty   bool
}

type gapColumn struct {
	Status engram.GapStatus
	Gaps   []engram.Gap
	More   bool
}

func (h *Handler) gaps(r *http.Request, p engram.Principal, v *view) (string, error) {
	v.Title, v.Active = "Knowledge gaps", "gaps"
	gv := gapsView{Empty: true}
	for _, st := range engram.GapStatuses {
		page, err := h.store.ListGaps(r.Context(), p.TenantID, engram.GapFilter{Status: &st, Limit: 50})
		if err != nil {
			return "", err
		}
		gv.Columns = append(gv.Columns, gapColumn{Status: st, Gaps: page.Gaps, More: page.HasMore})
		if len(page.Gaps) > 0 {
			gv.Empty = false
		}
	}
	st, err := h.store.GapStats(r.Context(), p.TenantID)
	if err != nil {
		return "", err
	}
	gv.Stats = st
	gv.Charts = gapCharts(st)
	v.Data = gv
	return "gaps", nil
}

type gapView struct {
	Gap      engram.GapDetail
	Statuses []engram.GapStatus
	// Answers holds each question's answers, by question index.
	Answers map[int][]engram.GapAnswer
}

func (h *Handler) gap(r *http.Request, p engram.Principal, v *view) (string, error) {
	v.Active = "gaps"
	g, err := h.store.GetGap(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return "", err
	}
	v.Title = g.Title
	gv := gapView{Gap: g, Statuses: engram.GapStatuses, Answers: map[int][]engram.GapAnswer{}}
	for _, a := range g.Answers {
		gv.Answers[a.QuestionIndex] = append(gv.Answers[a.QuestionIndex], a)
	}
	v.Data = gv
	return "gap", nil
}

type integrationsView struct {
	Connectors []connectorView
}

type connectorView struct {
	engram.Connector
	Job      *engram.Job
	Settings string
}

func (h *Handler) integrations(r *http.Request, p engram.Principal, v *view) (string, error) {
	v.Title, v.Active = "Integrations", "integrations"
	cs, err := h.store.ListConnectors(r.Context(), p.TenantID)
	if err != nil {
		return "", err
	}
	var iv integrationsView
	for _, c := range cs {
		cv := connectorView{Connector: c, Settings: string(c.Settings)}
		if c.Type != "push" {
			if cv.Job, err = h.store.LatestConnectorJob(r.Context(), p.TenantID, c.ID, engram.JobSync); err != nil {
				return "", err
			}
		}
		iv.Connectors = append(iv.Connectors, cv)
	}
	v.Data = iv
	return "integrations", nil
}

type jobsView struct {
	Jobs []engram.Job
	Next string
}

func (h *Handler) jobs(r *http.Request, p engram.Principal, v *view) (string, error) {
	v.Title, v.Active = "Jobs", "jobs"
	f := engram.JobFilter{Limit: 50}
	if c := r.URL.Query().Get("cursor"); c != "" {
		cur, err := engram.DecodeJobCursor(c)
		if err != nil {
			return "", err
		}
		f.Cursor = cur
	}
	page, err := h.store.ListJobs(r.Context(), p.TenantID, f)
	if err != nil {
		return "", err
	}
	jv := jobsView{Jobs: page.Jobs}
	if page.HasMore {
		jv.Next = "/jobs?cursor=" + url.QueryEscape(page.NextCursor)
	}
	v.Data = jv
	return "jobs", nil
}

type settingsView struct {
	Users []engram.User
	Keys  []engram.APIKey
	Roles []engram.Role
}

func (h *Handler) settings(r *http.Request, p engram.Principal, v *view) (string, error) {
	v.Title, v.Active = "Settings", "settings"
	if p.Role != engram.RoleAdmin {
		return "", engram.Errorf(engram.EForbidden, "settings are for admins; ask an admin of your organisation")
	}
	users, err := h.store.ListUsers(r.Context(), p.TenantID)
	if err != nil {
		return "", err
	}
	keys, err := h.store.ListAPIKeys(r.Context(), p.TenantID)
	if err != nil {
		return "", err
	}
	v.Data = settingsView{Users: users, Keys: keys, Roles: []engram.Role{engram.RoleAdmin, engram.RoleMember, engram.RoleViewer}}
	return "settings", nil
}

// jobPercent is a job's progress in whole percent.
func jobPercent(j engram.Job) int {
	if j.Progress.Total <= 0 {
		if j.Status == engram.JobSucceeded {
			return 100
		}
		return 0
	}
	return min(100, j.Progress.Done*100/j.Progress.Total)
}
