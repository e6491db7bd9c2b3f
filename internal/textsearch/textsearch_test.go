package textsearch

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/engram-kb/engram"
)

func TestParse(t *testing.T) {
	term := func(w ...string) engram.SearchTerm { return w }
	for _, c := range []struct {
		in   string
		want engram.SearchQuery
	}{
		{"copy files and directories", engram.SearchQuery{All: [][]engram.SearchTerm{{term("copy")}, {term("files")}, {term("directories")}}}},
		{`"release plan" -draft`, engram.SearchQuery{All: [][]engram.SearchTerm{{term("release", "plan")}}, Not: []engram.SearchTerm{term("draft")}}},
		{"cat OR dog fish", engram.SearchQuery{All: [][]engram.SearchTerm{{term("cat"), term("dog")}, {term("fish")}}}},
		{"CA.pl Crème", engram.SearchQuery{All: [][]engram.SearchTerm{{term("ca", "pl")}, {term("creme")}}}},
		{`"unbalanced phrase`, engram.SearchQuery{All: [][]engram.SearchTerm{{term("unbalanced", "phrase")}}}},
		{"the", engram.SearchQuery{All: [][]engram.SearchTerm{{term("the")}}}},
		{"-only", engram.SearchQuery{Not: []engram.SearchTerm{term("only")}}},
		{`!!! *** ""`, engram.SearchQuery{}},
		{"OR OR", engram.SearchQuery{}},
	} {
		if got := Parse(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
	long := Parse(strings.Repeat("word ", 10000))
	if n := len(long.All); n != engram.MaxSearchTerms {
		t.Errorf("a long query kept %d terms, want %d", n, engram.MaxSearchTerms)
	}
}

func TestSnippet(t *testing.T) {
	text := strings.Repeat("Nothing to see here. ", 30) + "The files were copied to the new directory. " + strings.Repeat("More filler. ", 30)
	s, ms := Snippet(text, map[string]bool{"files": true, "directory": true, "file": true})
	if len(ms) != 2 || utf8.RuneCountInString(s) > SnippetRunes {
		t.Fatalf("snippet %q, matches %v", s, ms)
	}
	r := []rune(s)
	if got := string(r[ms[0].Start:ms[0].End]); got != "files" {
		t.Fatalf("first match is %q", got)
	}
	if got := string(r[ms[1].Start:ms[1].End]); got != "directory" {
		t.Fatalf("second match is %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`"a b" -c OR d`, `-"x`, "é ü", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := Parse(s)
		for _, c := range q.All {
			for _, term := range c {
				for _, w := range term {
					for _, r := range w {
						if !isWordRune(r) {
							t.Fatalf("word %q of %q holds %q", w, s, r)
						}
					}
				}
			}
		}
	})
}
