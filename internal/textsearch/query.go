package textsearch

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/engram-kb/engram"
)

// Parse reads a query as people type it: words (each required), "quoted
// phrases", -excluded words or phrases, and OR between two of them. Any
// text parses: punctuation splits words (so "CA.pl" is the phrase "ca
// pl"), an unbalanced quote runs to the end, other operators are plain
// text. Stop words outside phrases are not required, unless the query has
// nothing else. Past engram.MaxSearchQueryBytes the text is cut, and past
// engram.MaxSearchTerms terms the rest is left out.
func Parse(q string) engram.SearchQuery {
	if len(q) > engram.MaxSearchQueryBytes {
		q = q[:engram.MaxSearchQueryBytes]
		for !utf8.ValidString(q) {
			q = q[:len(q)-1]
		}
	}
	type item struct {
		term    engram.SearchTerm
		not     bool
		phrase  bool
		orAfter bool
	}
	var items []item
	i := 0
	for i < len(q) {
		r, size := utf8.DecodeRuneInString(q[i:])
		if unicode.IsSpace(r) {
			i += size
			continue
		}
		not := false
		if r == '-' && i+1 < len(q) && !unicode.IsSpace(rune(q[i+1])) {
			not = true
			i++
			r, size = utf8.DecodeRuneInString(q[i:])
		}
		var raw string
		phrase := false
		if r == '"' {
			phrase = true
			end := strings.IndexByte(q[i+1:], '"')
			if end < 0 {
				raw, i = q[i+1:], len(q)
			} else {
				raw, i = q[i+1:i+1+end], i+1+end+1
			}
		} else {
			end := strings.IndexFunc(q[i:], func(r rune) bool { return unicode.IsSpace(r) || r == '"' })
			if end < 0 {
				raw, i = q[i:], len(q)
			} else if end == 0 {
				i += size // a lone quote char handled above; never here
				continue
			} else {
				raw, i = q[i:i+end], i+end
			}
		}
		if !phrase && !not && raw == "OR" {
			if len(items) > 0 {
				items[len(items)-1].orAfter = true
			}
			continue
		}
		var words []string
		for _, t := range Tokens(raw) {
			words = append(words, t.Text)
		}
		if len(words) == 0 {
			continue
		}
		items = append(items, item{term: words, not: not, phrase: phrase || len(words) > 1})
	}
	// Stop words are dropped unless every positive item is one.
	onlyStop := true
	for _, it := range items {
		if !it.not && (it.phrase || !IsStopWord(it.term[0])) {
			onlyStop = false
		}
	}
	var out engram.SearchQuery
	terms := 0
	joinNext := false
	for _, it := range items {
		if terms >= engram.MaxSearchTerms {
			break
		}
		if it.not {
			out.Not = append(out.Not, it.term)
			terms++
			joinNext = false
			continue
		}
		if !it.phrase && IsStopWord(it.term[0]) && !onlyStop {
			joinNext = joinNext && it.orAfter
			continue
		}
		if joinNext && len(out.All) > 0 {
			last := len(out.All) - 1
			out.All[last] = append(out.All[last], it.term)
		} else {
			out.All = append(out.All, []engram.SearchTerm{it.term})
		}
		terms++
		joinNext = it.orAfter
	}
	return out
}
