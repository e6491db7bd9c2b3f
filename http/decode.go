package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/engram-kb/engram"
)

// bodyRule says whether a request must have a body.
type bodyRule bool

const (
	bodyRequired bodyRule = true
	bodyOptional bodyRule = false
)

// decodeBody reads r's body, which must be one JSON object, into dst.
// Unknown fields, a wrong type, trailing data and malformed JSON are
// invalid_argument with a message that names the field or the byte;
// a body over the server's limit is too_large. An absent or blank body is
// an error only when the body is required; dst is then left as it is.
func decodeBody(r *http.Request, dst any, rule bodyRule) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return engram.Errorf(engram.ETooLarge, "body: larger than the limit of %d bytes", tooBig.Limit)
		}
		// A body that breaks off is the client's doing (or its network's);
		// if the client is gone, writeError stays silent anyway.
		return engram.Errorf(engram.EInvalid, "body: could not be read completely")
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		if rule == bodyRequired {
			return engram.Errorf(engram.EInvalid, "body: a JSON object is required")
		}
		return nil
	}
	// null would decode into nothing at all and pass as an empty object.
	if string(trimmed) == "null" {
		return engram.Errorf(engram.EInvalid, "body: must be a JSON object, not null")
	}
	if err := checkJSONText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(body, err)
	}
	end := dec.InputOffset()
	if rest := bytes.TrimLeft(body[end:], " \t\r\n"); len(rest) > 0 {
		return engram.Errorf(engram.EInvalid, "body: unexpected data after the JSON object at byte %d", len(body)-len(rest))
	}
	return nil
}

// decodeError turns an encoding/json error into a message for the user.
func decodeError(body []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		// Offset counts the bytes read, the bad one included; messages give
		// the zero-based offset of the byte at fault.
		return engram.Errorf(engram.EInvalid, "body: malformed JSON at byte %d: %s", max(syntax.Offset-1, 0), syntax.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return engram.Errorf(engram.EInvalid, "body: malformed JSON at byte %d: unexpected end of input", len(body))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return engram.Errorf(engram.EInvalid, "body: must be a JSON object, not %s", article(typ.Value))
		}
		path := valuePath(body, typ.Offset)
		if path == "" {
			path = typ.Field // still names the field, if not the index
		}
		if want := describeType(typ.Type); want == "an integer" && isIntegerText(typ.Value) {
			return engram.Errorf(engram.EInvalid, "%s: %s is out of range", path, typ.Value)
		}
		return engram.Errorf(engram.EInvalid, "%s: must be %s, not %s", path, describeType(typ.Type), article(typ.Value))
	}
	// encoding/json reports an unknown field only as text.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return engram.Errorf(engram.EInvalid, "body: unknown field %s", name)
	}
	// Anything else comes from a field's own UnmarshalJSON; none of the
	// request types has one that can fail, so this is a program error.
	return err
}

// valuePath finds the path, like documents[3].title, of the value that
// encoding/json reported a type error for. json.UnmarshalTypeError.Field
// drops array indexes ("documents.title"), which is useless in a list of a
// thousand documents, but its Offset points just past the value (or past
// the opening bracket of an array or object); walking the tokens up to that
// offset recovers the exact path. It runs only on the error path.
func valuePath(body []byte, offset int64) string {
	var stack []frame
	// done records that a value finished in the innermost container.
	done := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].array {
				stack[n-1].index++
			} else {
				stack[n-1].wantKey = true
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		delim, isDelim := tok.(json.Delim)
		if isDelim && (delim == '}' || delim == ']') {
			stack = stack[:len(stack)-1]
			done()
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].wantKey {
			stack[n-1].key, _ = tok.(string)
			stack[n-1].wantKey = false
			continue
		}
		if dec.InputOffset() == offset {
			return framePath(stack, "")
		}
		if isDelim {
			stack = append(stack, frame{array: delim == '[', wantKey: delim == '{'})
			continue
		}
		done()
	}
}

// frame is one open array or object on the way to a value in a body.
type frame struct {
	array   bool
	index   int
	key     string
	wantKey bool
}

// framePath writes the path of the frames, like documents[3].title, with
// key appended when it is not empty.
func framePath(stack []frame, key string) string {
	var b strings.Builder
	for _, f := range stack {
		if f.array {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(f.key)
	}
	if key != "" {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(key)
	}
	return b.String()
}

// describeType names what a Go type accepts in JSON.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// isIntegerText reports whether a value description is "number N" with N
// an integer, which an int field rejects only for its size.
func isIntegerText(v string) bool {
	n, ok := strings.CutPrefix(v, "number ")
	return ok && !strings.ContainsAny(n, ".eE")
}

// article turns encoding/json's description of a value ("string",
// "number 1.5", "array") into words ("a string", "number 1.5", "an array").
func article(v string) string {
	switch v {
	case "array", "object":
		return "an " + v
	case "string", "number", "bool":
		return "a " + strings.Replace(v, "bool", "boolean", 1)
	}
	return v
}

// pathIDAndBody reads what most single-resource writes take: the {id} of
// the path, no query parameters, and a JSON body into dst.
func pathIDAndBody(r *http.Request, dst any, rule bodyRule) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	if _, err := parseQuery(r); err != nil {
		return "", err
	}
	return id, decodeBody(r, dst, rule)
}
