package textsearch

import (
	"strings"
	"unicode/utf8"
)

// SnippetRunes is about how long a snippet is, in characters.
const SnippetRunes = 240

// Match is where a matched word stands in a snippet, in characters
// (Unicode code points) from the snippet's start, end exclusive.
type Match struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Snippet cuts from text the window of about SnippetRunes characters with
// the most of words (folded), starting at a word, and says where those
// words stand in it. With no match it is the text's start. Neither engine
// stems, so a word matches exactly what the index matched.
func Snippet(text string, words map[string]bool) (string, []Match) {
	toks := Tokens(text)
	var hits []Token
	for _, t := range toks {
		if words[t.Text] {
			hits = append(hits, t)
		}
	}
	start := 0
	if len(hits) > 0 {
		// The window starting a little before some hit that holds the
		// most hits.
		best, bestN := 0, -1
		for i := range hits {
			n := 0
			limit := hits[i].Start + SnippetRunes*3/4
			for j := i; j < len(hits) && hits[j].End <= limit; j++ {
				n++
			}
			if n > bestN {
				best, bestN = i, n
			}
		}
		start = backWords(text, toks, hits[best].Start, 30)
	}
	end := forwardRunes(text, start, SnippetRunes)
	if end < len(text) {
		// End at a word boundary when one is near.
		if i := strings.LastIndexAny(text[start:end], " \n\t"); i > (end-start)/2 {
			end = start + i
		}
	}
	snippet := text[start:end]
	var ms []Match
	for _, h := range hits {
		if h.Start >= start && h.End <= end {
			s := utf8.RuneCountInString(text[start:h.Start])
			ms = append(ms, Match{Start: s, End: s + utf8.RuneCountInString(text[h.Start:h.End])})
		}
	}
	return snippet, ms
}

// backWords returns the start of a word about n characters before at.
func backWords(text string, toks []Token, at, n int) int {
	target := at
	for k := 0; k < n && target > 0; k++ {
		_, size := utf8.DecodeLastRuneInString(text[:target])
		target -= size
	}
	for _, t := range toks {
		if t.Start >= target {
			return t.Start
		}
	}
	return at
}

// forwardRunes returns the byte offset n characters after from.
func forwardRunes(text string, from, n int) int {
	i := from
	for k := 0; k < n && i < len(text); k++ {
		_, size := utf8.DecodeRuneInString(text[i:])
		i += size
	}
	return i
}
