// Package sanitize makes text from files and messages safe to store: valid
// UTF-8, no NUL characters (PostgreSQL text cannot hold them), titles on one
// line and within engram's limits.
package sanitize

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/engram-kb/engram"
)

// String returns s as valid UTF-8 with invalid bytes replaced by U+FFFD and
// NUL characters removed.
func String(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}

// Line returns s sanitized, with every run of white space (newlines
// included) turned into one space and the ends trimmed.
func Line(s string) string {
	return strings.Join(strings.FieldsFunc(String(s), unicode.IsSpace), " ")
}

// Title returns s as a one-line title of at most engram.MaxTitleLen
// characters, or fallback when s has nothing in it.
func Title(s, fallback string) string {
	t := Line(s)
	if t == "" {
		t = Line(fallback)
	}
	if utf8.RuneCountInString(t) > engram.MaxTitleLen {
		r := []rune(t)
		t = strings.TrimSpace(string(r[:engram.MaxTitleLen-1])) + "…"
	}
	return t
}

// Truncate cuts s to at most max bytes without splitting a character.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

// JSON converts v, as decoded from YAML or built by a connector, into a
// value encoding/json can encode and engram can store: maps get string
// keys, times become RFC 3339 strings, non-finite numbers become strings
// and every string is sanitized.
func JSON(v any) any {
	switch x := v.(type) {
	case string:
		return String(x)
	case []byte:
		return String(string(x))
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x) // "NaN", "+Inf": JSON has no such numbers
		}
		return x
	case float32:
		return JSON(float64(x))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[String(k)] = JSON(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[String(fmt.Sprint(k))] = JSON(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = JSON(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = String(e)
		}
		return out
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return x
	default:
		return String(fmt.Sprint(x))
	}
}

// Metadata encodes m as a JSON object after JSON; nil when m is empty, so
// that items without metadata carry none.
func Metadata(m map[string]any) json.RawMessage {
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(JSON(m))
	if err != nil {
		// JSON has made every value encodable; this is a programming error.
		panic("sanitize: metadata not encodable: " + err.Error())
	}
	return b
}
