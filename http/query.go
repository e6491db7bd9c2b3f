package http

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/engram-kb/engram"
)

// params is a request's query string after checking that it names only
// known parameters, each once. A typo such as ?stauts=pending must not
// silently return everything.
type params url.Values

// parseQuery returns r's query parameters, or invalid_argument naming
// every parameter not in allowed and every one given twice.
func parseQuery(r *http.Request, allowed ...string) (params, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, engram.Errorf(engram.EInvalid, "query: malformed query string")
	}
	var unknown []string
	for name, vals := range v {
		for _, val := range append([]string{name}, vals...) {
			// PostgreSQL text refuses NUL and invalid UTF-8: such a
			// value must be the client's 400, never the server's 500.
			if !utf8.ValidString(val) || strings.ContainsRune(val, 0) {
				n := name
				if !utf8.ValidString(n) || strings.ContainsRune(n, 0) {
					n = "query: parameter " + strconv.QuoteToASCII(n)
				}
				return nil, engram.Errorf(engram.EInvalid, "%s: must be valid UTF-8 text without NUL characters", n)
			}
		}
		if !slices.Contains(allowed, name) {
			unknown = append(unknown, strconv.Quote(name))
			continue
		}
		if len(vals) > 1 {
			return nil, engram.Errorf(engram.EInvalid, "%s: given %d times; give it once", name, len(vals))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		known := "none"
		if len(allowed) > 0 {
			known = strings.Join(allowed, ", ")
		}
		noun := "parameter"
		if len(unknown) > 1 {
			noun = "parameters"
		}
		return nil, engram.Errorf(engram.EInvalid, "query: unknown %s %s; allowed: %s", noun, strings.Join(unknown, ", "), known)
	}
	return params(v), nil
}

// get returns the value of name and whether it was given. An empty value
// counts as given: "?status=" is a mistake, not a request for everything.
func (p params) get(name string) (string, bool) {
	vals, ok := p[name]
	if !ok {
		return "", false
	}
	return vals[0], true
}

// boolean reads true or false; absent is def.
func (p params) boolean(name string, def bool) (bool, error) {
	v, ok := p.get(name)
	if !ok {
		return def, nil
	}
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, engram.Errorf(engram.EInvalid, "%s: %q is not %s", name, v, oneOf([]string{"true", "false"}))
}

// intRange reads an integer in [lo, hi]; absent is def.
func (p params) intRange(name string, def, lo, hi int) (int, error) {
	v, ok := p.get(name)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, engram.Errorf(engram.EInvalid, "%s: %q is not an integer from %d to %d", name, v, lo, hi)
	}
	return n, nil
}

// timestamp reads an RFC 3339 time; absent is nil.
func (p params) timestamp(name string) (*time.Time, error) {
	v, ok := p.get(name)
	if !ok {
		return nil, nil
	}
	t, err := parseTime(name, v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// id reads a UUID; absent is nil.
func (p params) id(name string) (*string, error) {
	v, ok := p.get(name)
	if !ok {
		return nil, nil
	}
	id, err := parseID(name, v)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

// parseEnum checks that v is one of allowed, naming field and every allowed
// value when it is not.
func parseEnum[T ~string](field, v string, allowed []T) (T, error) {
	for _, a := range allowed {
		if string(a) == v {
			return a, nil
		}
	}
	return "", engram.Errorf(engram.EInvalid, "%s: %q is not %s", field, v, oneOf(allowed))
}

// oneOf lists the allowed values of an enum for a message.
func oneOf[T ~string](allowed []T) string {
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return "one of " + strings.Join(names, ", ")
}

// parseTime reads an RFC 3339 time (fractional seconds allowed).
func parseTime(field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, engram.Errorf(engram.EInvalid, "%s: %q is not an RFC 3339 time such as 2024-05-01T09:30:00Z", field, v)
	}
	return t, nil
}

// parseID checks a UUID and returns its canonical form.
func parseID(field, v string) (string, error) {
	id, ok := engram.ParseID(v)
	if !ok {
		return "", engram.Errorf(engram.EInvalid, "%s: %q is not a valid id", field, v)
	}
	return id, nil
}

// pathID reads the {id} segment of the route.
func pathID(r *http.Request) (string, error) {
	return parseID("id", r.PathValue("id"))
}
