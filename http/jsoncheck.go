package http

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/engram-kb/engram"
)

// maxBodyDepth bounds how deeply a request body's arrays and objects nest.
// engram's own bodies need four levels plus a document's metadata
// (engram.MaxMetadataDepth); ten thousand levels of brackets are an
// attack on whatever reads the value back, not data.
const maxBodyDepth = engram.MaxMetadataDepth + 8

// checkJSONText finds what encoding/json would accept silently but engram
// must refuse, before the body is decoded: nesting deeper than
// maxBodyDepth, bytes that are not UTF-8 (encoding/json turns them into
// U+FFFD) and \u escapes of lone UTF-16 surrogates (likewise). It returns
// invalid_argument naming the field, or nil; malformed JSON passes, for
// the decoder to describe.
func checkJSONText(body []byte) error {
	var stack []frame
	path := func(key string) string {
		if p := framePath(stack, key); p != "" {
			return p
		}
		return "body"
	}
	expectKey := false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; c {
		case '{', '[':
			if len(stack) >= maxBodyDepth {
				return engram.Errorf(engram.EInvalid, "%s: nested deeper than %d levels", path(""), maxBodyDepth)
			}
			stack = append(stack, frame{array: c == '['})
			expectKey = c == '{'
		case '}', ']':
			if len(stack) == 0 {
				return nil
			}
			stack = stack[:len(stack)-1]
		case ',':
			if n := len(stack); n > 0 {
				if stack[n-1].array {
					stack[n-1].index++
				} else {
					expectKey = true
				}
			}
		case '"':
			end, text, problem := scanString(body, i)
			if end < 0 {
				return nil // unterminated: the decoder says where
			}
			if expectKey && len(stack) > 0 {
				stack[len(stack)-1].key = text
				expectKey = false
				if problem != "" {
					return engram.Errorf(engram.EInvalid, "%s: a field name %s", path(""), problem)
				}
			} else if problem != "" {
				return engram.Errorf(engram.EInvalid, "%s: %s", path(""), problem)
			}
			i = end
		}
	}
	return nil
}

// scanString reads the JSON string starting at body[start] (a quote). It
// returns the index of its closing quote (-1 when there is none), its text
// (unescaped loosely, for naming fields) and what is wrong with it, if
// anything.
func scanString(body []byte, start int) (int, string, string) {
	var text strings.Builder
	problem := ""
	for i := start + 1; i < len(body); {
		c := body[i]
		switch {
		case c == '"':
			return i, text.String(), problem
		case c == '\\' && i+1 < len(body):
			if body[i+1] != 'u' {
				text.WriteByte(body[i+1])
				i += 2
				continue
			}
			r, ok := hex4(body, i+2)
			if !ok {
				return -1, "", "" // malformed: the decoder reports it
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(0), false
				if i+1 < len(body) && body[i] == '\\' && body[i+1] == 'u' {
					r2, ok2 = hex4(body, i+2)
				}
				if pair := utf16.DecodeRune(r, r2); ok2 && pair != utf8.RuneError {
					text.WriteRune(pair)
					i += 6
					continue
				}
				if problem == "" {
					problem = "contains a lone UTF-16 surrogate (\\u" + strings.ToLower(string(body[i-4:i])) + "), which is not a character"
				}
				continue
			}
			text.WriteRune(r)
		default:
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size <= 1 && problem == "" {
				problem = "is not valid UTF-8"
			}
			text.WriteString(string(body[i : i+size]))
			i += size
		}
	}
	return -1, "", ""
}

// hex4 decodes the four hex digits at body[i:i+4].
func hex4(body []byte, i int) (rune, bool) {
	if i+4 > len(body) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(body[i:i+4]), 16, 32)
	return rune(n), err == nil
}
