package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/engram-kb/engram"
)

// bodySeeds are request bodies of every shape the API takes, and of the
// mistakes checkJSONText is there for.
var bodySeeds = []string{
	`{"documents":[{"title":"a","content":"b","recipients":["x@y.z"],"metadata":{"k":[1,{"n":null}]}}]}`,
	`{"documents":[{"title":"a"},{"title":5}]}`,
	`{"document_ids":["0190b8f2-7c1e-7d3a-9f00-0123456789ab"],"classification":"work"}`,
	`{"title":"gap","questions":["why?"],"priority":3}`,
	`{"type":"push","name":"n","settings":{},"sync_interval":"1h"}`,
	`{"title":"caf\u00e9 \ud83d\ude00"}`,
	`{"title":"\ud800"}`,
	`{"title":"\udc00\ud800x"}`,
	`{"ti\ud800tle":1}`,
	"{\"title\":\"\xff\"}",
	"{\"title\":\"\xef\xbf\xbd \\ufffd\"}",
	`{"a":"\\ud800"}`,
	`{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	`{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}`,
	`{} {}`, `null`, ` `, `[`, `"`, `{"a":"\u12`, `{"a":1}]`,
}

// FuzzDecodeBody sends arbitrary bodies through decodeBody into the
// server's own request types, under a body limit: it never panics and
// every refusal is the client's error, invalid_argument or too_large.
func FuzzDecodeBody(f *testing.F) {
	for i, s := range bodySeeds {
		f.Add([]byte(s), uint16(i*97))
	}
	f.Fuzz(func(t *testing.T, body []byte, limit uint16) {
		dsts := []func() any{
			func() any { return new(map[string]any) },
			func() any {
				return &struct {
					Documents []documentInput `json:"documents"`
				}{}
			},
			func() any {
				return &struct {
					Documents []pushItem `json:"documents"`
				}{}
			},
			func() any { return new(gapInput) },
			func() any {
				return &struct {
					DocumentIDs []string `json:"document_ids"`
					Limit       *int     `json:"limit"`
					Threshold   *float64 `json:"auto_confirm_threshold"`
					AllPending  bool     `json:"all_pending"`
				}{}
			},
		}
		for _, rule := range []bodyRule{bodyRequired, bodyOptional} {
			for _, dst := range dsts {
				r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
				r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, int64(limit)+1)
				err := decodeBody(r, dst(), rule)
				if err == nil {
					continue
				}
				var e *engram.Error
				if !errors.As(err, &e) || (e.Code != engram.EInvalid && e.Code != engram.ETooLarge) {
					t.Fatalf("decodeBody(%q) = %v (%T), want invalid_argument or too_large", body, err, err)
				}
				if e.Code == engram.ETooLarge && len(body) <= int(limit)+1 {
					t.Fatalf("decodeBody of %d bytes, limit %d: %v", len(body), int(limit)+1, err)
				}
			}
		}
	})
}

// FuzzCheckJSONText holds checkJSONText to encoding/json: what it passes
// decodes without a U+FFFD that the text did not have and within the
// nesting bound, and what it refuses in valid JSON really has invalid
// UTF-8, a lone surrogate or nesting too deep.
func FuzzCheckJSONText(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := checkJSONText(body)
		if err != nil {
			var e *engram.Error
			if !errors.As(err, &e) || e.Code != engram.EInvalid {
				t.Fatalf("checkJSONText(%q) = %v, want invalid_argument", body, err)
			}
		}
		if !json.Valid(body) {
			return
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("json.Valid but Unmarshal: %v", err)
		}
		introduced := replacements(v) > writtenReplacements(body)
		deep := nesting(body) > maxBodyDepth
		if err == nil && (introduced || deep) {
			t.Fatalf("checkJSONText passed %q: replacement characters introduced %v, nesting %d", body, introduced, nesting(body))
		}
		if err != nil && !introduced && !deep && utf8.Valid(body) {
			t.Fatalf("checkJSONText refused faithful JSON %q: %v", body, err)
		}
	})
}

// replacements counts U+FFFD in the strings, keys included, of a decoded
// JSON value.
func replacements(v any) int {
	switch x := v.(type) {
	case string:
		return strings.Count(x, "\uFFFD")
	case []any:
		n := 0
		for _, e := range x {
			n += replacements(e)
		}
		return n
	case map[string]any:
		n := 0
		for k, e := range x {
			n += strings.Count(k, "\uFFFD") + replacements(e)
		}
		return n
	}
	return 0
}

// writtenReplacements counts the U+FFFD that valid JSON text spells out,
// as UTF-8 or as \ufffd. Duplicate keys may drop some when decoded, so a
// decoded value has at most this many.
func writtenReplacements(body []byte) int {
	n := bytes.Count(body, []byte("\uFFFD"))
	in := false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case !in:
			in = c == '"'
		case c == '"':
			in = false
		case c == '\\':
			if i+5 < len(body) && body[i+1] == 'u' && strings.EqualFold(string(body[i+2:i+6]), "fffd") {
				n++
			}
			i++ // the escaped character, or the u of \uXXXX
		}
	}
	return n
}

// nesting is how deeply the arrays and objects of valid JSON nest.
func nesting(body []byte) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	depth, most := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return most
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			most = max(most, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// FuzzParseQuery sends arbitrary query strings through parseQuery: it
// never panics, refuses with invalid_argument only, and what it accepts
// names only allowed parameters, each once, in valid UTF-8 without NUL.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"", "status=pending", "limit=10&cursor=abc", "stauts=pending", "status=a&status=b",
		"status=%00", "status=%ff", "%ff=1", "a=1&b=2&c", "status=%zz", "q=caf%C3%A9&limit=",
		"status;limit", "=x", "&&&", "status=%e2%82",
	} {
		f.Add(s)
	}
	allowed := []string{"status", "limit", "cursor", "q"}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.RawQuery = raw
		p, err := parseQuery(r, allowed...)
		if err != nil {
			var e *engram.Error
			if !errors.As(err, &e) || e.Code != engram.EInvalid {
				t.Fatalf("parseQuery(%q) = %v, want invalid_argument", raw, err)
			}
			if !utf8.ValidString(e.Message) {
				t.Fatalf("parseQuery(%q): message %q is not valid UTF-8", raw, e.Message)
			}
			return
		}
		for name, vals := range url.Values(p) {
			if !slices.Contains(allowed, name) || len(vals) != 1 {
				t.Fatalf("parseQuery(%q) accepted %q = %q", raw, name, vals)
			}
			for _, s := range append(vals, name) {
				if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
					t.Fatalf("parseQuery(%q) accepted %q", raw, s)
				}
			}
		}
	})
}
