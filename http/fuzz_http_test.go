package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
)

// fuzzRequests is how many random requests each engine gets: 5-30 s
// an engine on two busy cores, with -race.
const fuzzRequests = 2000

// fuzzRoutes is every route of the server (Server.routes), with {id} and
// {answer_id} to fill in.
var fuzzRoutes = []struct{ method, path string }{
	{"GET", "/api/health"}, {"GET", "/readyz"},
	{"POST", "/api/documents"}, {"GET", "/api/documents"}, {"GET", "/api/documents/stats"},
	{"GET", "/api/documents/review"}, {"GET", "/api/documents/{id}"}, {"PATCH", "/api/documents/{id}"},
	{"DELETE", "/api/documents/{id}"}, {"DELETE", "/api/documents/all"},
	{"POST", "/api/documents/classify"}, {"POST", "/api/documents/{id}/classify"},
	{"PUT", "/api/documents/{id}/classify"}, {"POST", "/api/documents/{id}/confirm"},
	{"POST", "/api/documents/{id}/reject"}, {"POST", "/api/documents/{id}/restore"},
	{"POST", "/api/documents/bulk/classify"}, {"POST", "/api/documents/bulk/confirm"},
	{"POST", "/api/documents/bulk/reject"}, {"POST", "/api/documents/bulk/delete"},
	{"POST", "/api/documents/bulk/restore"},
	{"GET", "/api/integrations"}, {"POST", "/api/integrations"}, {"GET", "/api/integrations/{id}"},
	{"PATCH", "/api/integrations/{id}"}, {"DELETE", "/api/integrations/{id}"},
	{"POST", "/api/integrations/{id}/documents"}, {"POST", "/api/integrations/{id}/sync"},
	{"GET", "/api/integrations/{id}/sync/status"}, {"POST", "/api/integrations/{id}/sync/cancel"},
	{"GET", "/api/jobs"}, {"GET", "/api/jobs/{id}"}, {"POST", "/api/jobs/{id}/cancel"},
	{"GET", "/api/knowledge/gaps"}, {"POST", "/api/knowledge/gaps"}, {"GET", "/api/knowledge/gaps/stats"},
	{"POST", "/api/knowledge/gaps/bulk/status"}, {"GET", "/api/knowledge/gaps/{id}"},
	{"PATCH", "/api/knowledge/gaps/{id}"}, {"DELETE", "/api/knowledge/gaps/{id}"},
	{"PUT", "/api/knowledge/gaps/{id}/status"}, {"POST", "/api/knowledge/gaps/{id}/answers"},
	{"PUT", "/api/knowledge/gaps/{id}/answers/{answer_id}"},
	{"POST", "/api/knowledge/gaps/{id}/answers/{answer_id}/verify"},
	{"POST", "/api/knowledge/gaps/{id}/feedback"}, {"POST", "/api/knowledge/analyze"},
	{"POST", "/api/ask"}, {"POST", "/api/ask/{id}/feedback"},
	{"GET", "/api/chat/conversations"}, {"POST", "/api/chat/conversations"}, {"GET", "/api/chat/conversations/{id}"},
	{"PATCH", "/api/chat/conversations/{id}"}, {"DELETE", "/api/chat/conversations/{id}"},
	{"POST", "/api/chat/conversations/{id}/messages"},
	// Not routes: the server's answers to these must be 4xx too.
	{"PUT", "/api/documents"}, {"GET", "/api/nothing/{id}"},
}

// fuzzCreates are the routes that make rows, sent more often.
var fuzzCreates = []struct{ method, path string }{
	{"POST", "/api/documents"}, {"POST", "/api/documents"},
	{"POST", "/api/integrations/{id}/documents"}, {"POST", "/api/knowledge/gaps"},
}

// Words the generator builds bodies and query strings from: the API's
// field and parameter names and values of its enums, with near misses.
var (
	fuzzFields = strings.Fields(`documents document_ids title content source_type source_url sender sender_email
		recipients source_created_at source_updated_at metadata external_id classification reason rejection_reason
		limit auto_confirm_threshold all_pending type name settings sync_interval status full_sync description
		category priority questions answer text answer_text comment useful feedback gap_ids hard delete_documents
		max_documents question_index is_verified path token titel`)
	fuzzParams = strings.Fields(`limit cursor status sort order include_deleted include_total classification
		needs_review offset created_after created_before connector_id source_type kind category priority_min
		delete_documents hard batch_size q stauts`)
	fuzzWords = strings.Fields(`work spam personal unknown pending confirmed rejected archived open in_progress
		answered closed dismissed active paused disconnected push folder mail useful not_useful true false asc desc
		created_at title confidence source_created_at 1h 15m 0s classify delete_all sync analyze_gaps queued running
		succeeded failed cancelled x@example.com not-an-email 2024-05-01T09:30:00Z 0000-01-01T00:00:00Z
		9999-12-31T23:59:59Z yesterday 0 -1 1 10 100 1000 10001 0.5 NaN 1e309`)
	fuzzJunk = []string{"", " ", "日本語の文", "\u2028", "a\u0000b", "\u00e9t\u00e9", "<script>x</script>",
		"%00", "%ff", "%zz", "'; DROP TABLE documents; --", "\\", "\"", strings.Repeat("long ", 250)}
)

// fuzzer sends random requests to one server and remembers the ids and
// cursors its responses hold, to aim later requests at real rows.
type fuzzer struct {
	t    *testing.T
	e    *env
	rng  *rand.Rand
	ids  []string
	curs []string
	last string
	// statuses counts the responses by status, to see what was reached.
	statuses map[int]int
}

// TestFuzzHTTP sends a few thousand random requests, bodies and query
// strings, with keys of every role, over every route. No response may be
// a 5xx, and afterwards the database keeps its invariants: the kept
// counts are the real ones, no chunk is orphaned and no document lives
// beside its own tombstone.
func TestFuzzHTTP(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		runJobs(t, s)
		e := newEnv(t, s)
		f := &fuzzer{t: t, e: e, rng: rand.New(rand.NewSource(20240501)), statuses: map[int]int{}}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("last request: %s", f.last)
			}
		})
		f.seed()
		for range fuzzRequests {
			f.request()
		}
		f.waitJobs()
		checkTenantRows(t, s, e.tenant.ID)
		t.Logf("responses by status: %v", f.statuses)
	})
}

// seed makes a few rows of every kind for requests to find.
func (f *fuzzer) seed() {
	f.send("POST", "/api/documents", f.e.member.Secret, []byte(`{"documents":[{"title":"work plan","content":"Plan. More plan."},
		{"title":"spam offer","content":"Buy now"},{"title":"personal note"},{"title":"other","content":"x"}]}`))
	f.send("POST", "/api/integrations", f.e.admin.Secret, []byte(`{"type":"push","name":"fuzz"}`))
	for _, id := range f.ids {
		f.send("POST", "/api/integrations/"+id+"/documents", f.e.member.Secret,
			[]byte(`{"documents":[{"external_id":"e1","title":"one"},{"external_id":"e2","title":"two"},{"external_id":"e3","title":"work three"}]}`))
	}
	f.send("POST", "/api/knowledge/gaps", f.e.member.Secret, []byte(`{"title":"gap","questions":["why?","how?"]}`))
	f.send("GET", "/api/documents?limit=2&sort=title", f.e.viewer.Secret, nil)
}

// request sends one random request.
func (f *fuzzer) request() {
	r := fuzzRoutes[f.rng.Intn(len(fuzzRoutes))]
	if f.rng.Intn(5) == 0 {
		// Creating rows is what gives the other routes something to do.
		r = fuzzCreates[f.rng.Intn(len(fuzzCreates))]
	}
	path := strings.ReplaceAll(r.path, "{id}", f.pathID())
	path = strings.ReplaceAll(path, "{answer_id}", f.pathID())
	// Most routes take no parameters: a query string is mostly for lists.
	switch n := f.rng.Intn(10); {
	case r.path == "/api/documents" && r.method == "GET" && n < 3:
		// A forged cursor: valid JSON, but no cursor the server made.
		v := f.pick([]string{"a\x00", "\ufffd", "", strings.Repeat("z", 2000)})
		c := engram.Cursor{Sort: engram.SortTitle, Value: &v, ID: f.id()}.Encode()
		path += "?sort=title&cursor=" + url.QueryEscape(c)
	case n < 6 && r.method == "GET" || n == 0:
		path += "?" + f.query()
	}
	var body []byte
	if f.rng.Intn(5) > 0 {
		body = f.body(r.method + " " + r.path)
	}
	keys := []string{f.e.admin.Secret, f.e.member.Secret, f.e.viewer.Secret}
	key := keys[f.rng.Intn(len(keys))]
	if f.rng.Intn(30) == 0 {
		key = []string{"", "nope", f.e.admin.Secret + "x"}[f.rng.Intn(3)]
	}
	f.send(r.method, path, key, body)
}

// send makes one call and fails on a server error; e.call checks the
// shape of every response.
func (f *fuzzer) send(method, path, key string, body []byte) {
	f.t.Helper()
	f.last = fmt.Sprintf("%s %s body %q", method, path, body)
	var b any
	if body != nil {
		b = body
	}
	res := f.e.call(f.t, method, path, key, b)
	f.statuses[res.Status]++
	if res.Status >= 500 {
		f.t.Fatalf("%s: status %d: %s", f.last, res.Status, res.Raw)
	}
	f.harvest(res.Body)
}

// harvest keeps the ids and cursors of a response.
func (f *fuzzer) harvest(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "next_cursor" && len(f.curs) < 50 {
				f.curs = append(f.curs, s)
			}
			f.harvest(e)
		}
	case []any:
		for _, e := range x {
			f.harvest(e)
		}
	case string:
		if _, ok := engram.ParseID(x); ok && len(f.ids) < 300 {
			f.ids = append(f.ids, x)
		}
	}
}

func (f *fuzzer) pick(list []string) string { return list[f.rng.Intn(len(list))] }

// id returns an id the server has given out, mostly, or one it has not.
func (f *fuzzer) id() string {
	switch n := f.rng.Intn(10); {
	case n < 7 && len(f.ids) > 0:
		return f.ids[f.rng.Intn(len(f.ids))]
	case n < 8 && len(f.ids) > 0:
		return strings.ToUpper(f.ids[f.rng.Intn(len(f.ids))])
	case n < 9:
		return engram.NewID()
	}
	return f.pick(fuzzJunk)
}

func (f *fuzzer) pathID() string {
	if f.rng.Intn(12) == 0 {
		return f.pick([]string{"all", "bulk", "..", "%2F", "%00", "%ff"})
	}
	return url.PathEscape(f.id())
}

// query returns a random query string, mostly well formed.
func (f *fuzzer) query() string {
	var parts []string
	for range 1 + f.rng.Intn(3) {
		name := f.pick(fuzzParams)
		var v string
		switch n := f.rng.Intn(10); {
		case n < 5:
			v = f.pick(fuzzWords)
		case n < 7 && len(f.curs) > 0:
			v = f.pick(f.curs)
		case n < 8:
			v = f.id()
		default:
			v = f.pick(fuzzJunk)
		}
		if f.rng.Intn(8) == 0 {
			// Raw text, escapes as they come: the server parses it.
			parts = append(parts, name+"="+strings.Map(func(r rune) rune {
				if r <= ' ' || r == '#' || r >= 0x7f {
					return -1
				}
				return r
			}, v))
			continue
		}
		parts = append(parts, url.QueryEscape(name)+"="+url.QueryEscape(v))
	}
	return strings.Join(parts, "&")
}

// fuzzTemplates are bodies of the shape each route takes, so that many
// requests get past decoding; $ marks a slot (see fill).
var fuzzTemplates = map[string][]string{
	"POST /api/documents": {`{"documents":[{"title":$T,"content":$S},{"title":$T,"source_created_at":$D,"metadata":$M}]}`,
		`{"documents":[{"title":$T,"content":$S,"sender_email":$@,"recipients":[$@,$@]}]}`},
	"PATCH /api/documents/{id}":                        {`{"title":$T}`, `{"metadata":$M}`, `{"title":$T,"metadata":$M}`},
	"DELETE /api/documents/{id}":                       {`{}`},
	"POST /api/documents/classify":                     {`{"document_ids":[$I,$I]}`, `{"all_pending":$B,"auto_confirm_threshold":$N}`, `{"limit":$N}`},
	"POST /api/documents/{id}/classify":                {`{"auto_confirm_threshold":$N}`, `{}`},
	"PUT /api/documents/{id}/classify":                 {`{"classification":$E}`},
	"POST /api/documents/{id}/confirm":                 {`{"classification":$E}`, `{}`},
	"POST /api/documents/{id}/reject":                  {`{"reason":$S}`, `{}`},
	"POST /api/documents/bulk/classify":                {`{"document_ids":[$I,$I,$I],"classification":$E}`},
	"POST /api/documents/bulk/confirm":                 {`{"document_ids":[$I,$I],"classification":$E}`, `{"document_ids":[$I]}`},
	"POST /api/documents/bulk/reject":                  {`{"document_ids":[$I,$I],"reason":$S}`},
	"POST /api/documents/bulk/delete":                  {`{"document_ids":[$I,$I,$I],"hard":$B}`},
	"POST /api/documents/bulk/restore":                 {`{"document_ids":[$I,$I]}`},
	"POST /api/integrations":                           {`{"type":"push","name":$T}`, `{"type":$E,"name":$T,"sync_interval":$E,"settings":$M}`},
	"PATCH /api/integrations/{id}":                     {`{"status":$E}`, `{"name":$T,"sync_interval":$E}`, `{"settings":$M}`},
	"POST /api/integrations/{id}/documents":            {`{"documents":[{"external_id":$X,"title":$T,"content":$S},{"external_id":$X,"title":$T,"metadata":$M}]}`},
	"POST /api/integrations/{id}/sync":                 {`{"full_sync":$B}`},
	"POST /api/knowledge/gaps":                         {`{"title":$T,"questions":[$S,$S],"category":$E,"priority":$N,"document_ids":[$I]}`},
	"POST /api/knowledge/gaps/bulk/status":             {`{"gap_ids":[$I,$I],"status":$E}`},
	"PATCH /api/knowledge/gaps/{id}":                   {`{"title":$T,"description":$S,"category":$E,"priority":$N}`},
	"PUT /api/knowledge/gaps/{id}/status":              {`{"status":$E}`},
	"POST /api/knowledge/gaps/{id}/answers":            {`{"question_index":$N,"answer_text":$S}`, `{"answer_text":$S}`},
	"PUT /api/knowledge/gaps/{id}/answers/{answer_id}": {`{"answer_text":$S}`},
	"POST /api/knowledge/gaps/{id}/feedback":           {`{"useful":$B,"comment":$S}`},
	"POST /api/knowledge/analyze":                      {`{"max_documents":$N}`, `{}`},
}

// fill replaces the slots of a template: $T a title, $S any text, $E a
// word of the API, $I an id, $X an external id, $N a number, $B a
// boolean, $M a metadata object, $D a time, $@ an e-mail address.
func (f *fuzzer) fill(tmpl string) []byte {
	var b bytes.Buffer
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '$' || i+1 == len(tmpl) {
			b.WriteByte(tmpl[i])
			continue
		}
		i++
		if f.rng.Intn(15) == 0 {
			f.scalar(&b) // anything, where the slot wants one kind
			continue
		}
		switch tmpl[i] {
		case 'T':
			f.str(&b, f.pick([]string{"work plan", "spam offer", "personal note", "other", "work " + f.pick(fuzzWords)}))
		case 'S':
			f.str(&b, f.pick(append(fuzzJunk, fuzzWords...)))
		case 'E':
			f.str(&b, f.pick(fuzzWords))
		case 'I':
			f.str(&b, f.id())
		case 'X':
			f.str(&b, f.pick([]string{"e1", "e2", "e3", "e4", "e5", "", strings.Repeat("x", 1001)}))
		case 'N':
			b.WriteString(f.pick([]string{"0", "1", "2", "5", "0.5", "0.95", "-1", "1000", "1e9"}))
		case 'B':
			b.WriteString(f.pick([]string{"true", "false"}))
		case 'M':
			f.object(&b, 1)
		case 'D':
			f.str(&b, f.pick([]string{"2024-05-01T09:30:00Z", "2001-02-03T04:05:06.789+02:00", "0001-01-01T00:00:00Z", "yesterday"}))
		case '@':
			f.str(&b, f.pick([]string{"ann@example.com", "BOB@Example.COM", "x@y", "not-an-email"}))
		}
	}
	return b.Bytes()
}

// body returns a JSON body for the route, mostly of its shape, sometimes
// any object of the API's fields, sometimes damaged.
func (f *fuzzer) body(route string) []byte {
	var b bytes.Buffer
	if ts := fuzzTemplates[route]; len(ts) > 0 && f.rng.Intn(4) > 0 {
		b.Write(f.fill(f.pick(ts)))
	} else {
		f.object(&b, 0)
	}
	out := b.Bytes()
	switch f.rng.Intn(10) {
	case 0:
		out = out[:f.rng.Intn(len(out)+1)]
	case 1:
		i := f.rng.Intn(len(out))
		out[i] = byte(f.rng.Intn(256))
	}
	return out
}

func (f *fuzzer) object(b *bytes.Buffer, depth int) {
	b.WriteByte('{')
	for i := range f.rng.Intn(4) {
		if i > 0 {
			b.WriteByte(',')
		}
		name := f.pick(fuzzFields)
		if f.rng.Intn(40) == 0 {
			name = f.pick(fuzzJunk)
		}
		f.str(b, name)
		b.WriteByte(':')
		f.value(b, name, depth+1)
	}
	b.WriteByte('}')
}

// value writes a value for the field name: usually of the kind the API
// expects there, sometimes anything.
func (f *fuzzer) value(b *bytes.Buffer, name string, depth int) {
	kind := f.rng.Intn(10)
	switch {
	case depth > 4:
		f.scalar(b)
	case kind < 6 && (name == "documents" || name == "questions" || name == "recipients"):
		b.WriteByte('[')
		for i := range 1 + f.rng.Intn(3) {
			if i > 0 {
				b.WriteByte(',')
			}
			if name == "documents" {
				f.object(b, depth)
			} else {
				f.scalar(b)
			}
		}
		b.WriteByte(']')
	case kind < 6 && (name == "document_ids" || name == "gap_ids"):
		b.WriteByte('[')
		for i := range 1 + f.rng.Intn(4) {
			if i > 0 {
				b.WriteByte(',')
			}
			f.str(b, f.id())
		}
		b.WriteByte(']')
	case kind < 6 && (name == "metadata" || name == "settings"):
		f.object(b, depth)
	case kind < 8:
		f.scalar(b)
	case kind < 9:
		b.WriteByte('[')
		f.value(b, "", depth+1)
		b.WriteByte(']')
	default:
		f.object(b, depth)
	}
}

func (f *fuzzer) scalar(b *bytes.Buffer) {
	switch f.rng.Intn(8) {
	case 0:
		b.WriteString(f.pick([]string{"0", "-1", "1", "3", "0.5", "1e309", "99999999999999999999", "null", "true", "false"}))
	case 1:
		// Escapes encoding/json would turn into U+FFFD or NUL.
		b.WriteString(f.pick([]string{`"\ud800"`, `"a\u0000"`, `"\udc00\ud83d"`, "\"\xff\xfe\"", `"\ud83d\ude00"`}))
	case 2:
		f.str(b, f.pick(fuzzJunk))
	case 3:
		f.str(b, f.id())
	default:
		f.str(b, f.pick(fuzzWords))
	}
}

func (f *fuzzer) str(b *bytes.Buffer, s string) {
	j, _ := json.Marshal(s)
	b.Write(j)
}

// waitJobs waits until the jobs the requests started are final, so that
// the rows are checked at rest.
func (f *fuzzer) waitJobs() {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		busy := 0
		for _, st := range []string{"queued", "running"} {
			res := f.e.call(f.t, "GET", "/api/jobs?status="+st, f.e.admin.Secret, nil).want(f.t, 200, "")
			jobs, _ := res.Body["jobs"].([]any)
			busy += len(jobs)
		}
		if busy == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatal("jobs still queued or running after 60 s")
}

// checkTenantRows checks the tenant's rows against the invariants every
// write keeps.
func checkTenantRows(t *testing.T, s testdb.Store, tenantID string) {
	t.Helper()
	ctx := context.Background()
	kept, err := s.DocumentStats(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	real, err := testdb.Driver(s).Reader().DocumentRecount(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	// The average is kept as a sum; it may differ in the last bits.
	avgOK := (kept.AverageConfidence == nil) == (real.AverageConfidence == nil) &&
		(kept.AverageConfidence == nil || math.Abs(*kept.AverageConfidence-*real.AverageConfidence) < 1e-9)
	k, r := kept, real
	k.AverageConfidence, r.AverageConfidence = nil, nil
	if !avgOK || !reflect.DeepEqual(k, r) {
		t.Errorf("kept document counts %+v, the documents say %+v (average confidence matches: %v)", kept, real, avgOK)
	}
	c, err := testdb.Driver(s).Reader().TenantCounts(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	if c.OrphanChunks != 0 || c.TombstonedDocuments != 0 {
		t.Errorf("rows %+v: chunks without a document or documents beside their tombstone", c)
	}
	t.Logf("after the requests: %+v, stats %+v", c, kept)
}
