package sanitize

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/engram-kb/engram"
)

func TestStrings(t *testing.T) {
	t.Parallel()
	cases := []struct{ fn, in, want string }{
		{"String", "a\x00b\xffc", "ab\uFFFDc"},
		{"Line", "  one\n\ttwo\r\n three \x00 ", "one two three"},
		{"Title", " \n ", "fallback"},
		{"Truncate", "héllo", "h"}, // 2 bytes would split "é"
	}
	for _, tc := range cases {
		var got string
		switch tc.fn {
		case "String":
			got = String(tc.in)
		case "Line":
			got = Line(tc.in)
		case "Title":
			got = Title(tc.in, "fallback")
		case "Truncate":
			got = Truncate(tc.in, 2)
		}
		if got != tc.want {
			t.Errorf("%s(%q) = %q, want %q", tc.fn, tc.in, got, tc.want)
		}
	}
	long := Title(strings.Repeat("ж", engram.MaxTitleLen+1), "")
	if n := utf8.RuneCountInString(long); n != engram.MaxTitleLen || !strings.HasSuffix(long, "…") {
		t.Errorf("long title: %d characters", n)
	}
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	if Metadata(nil) != nil {
		t.Error("empty metadata should be nil")
	}
	m := map[string]any{
		"t":    time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"nan":  math.NaN(),
		"keys": map[any]any{1: "a\x00", true: []any{"\xff"}},
	}
	got := string(Metadata(m))
	want := `{"keys":{"1":"a","true":["` + "\uFFFD" + `"]},"nan":"NaN","t":"2024-01-02T03:04:05Z"}`
	if got != want || !json.Valid([]byte(got)) {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
