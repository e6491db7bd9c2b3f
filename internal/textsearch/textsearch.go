// Package textsearch is the text side of engram's lexical search that is
// the same on every engine: how text splits into words, how a word is
// folded (lower case, diacritics removed), the short English stop list a
// query leaves out of its required words, and the snippets with their
// match offsets. It holds no SQL.
package textsearch

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Token is one word of a text: its folded form and where it stands in the
// text, in bytes.
type Token struct {
	Text       string
	Start, End int
}

// isWordRune reports whether r belongs to a word: letters, digits and
// combining marks, as SQLite's unicode61 tokenizer splits text.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r)
}

// Tokens splits s into words and folds each.
func Tokens(s string) []Token {
	var out []Token
	start := -1
	for i, r := range s {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			if f := Fold(s[start:i]); f != "" {
				out = append(out, Token{f, start, i})
			}
			start = -1
		}
	}
	if start >= 0 {
		if f := Fold(s[start:]); f != "" {
			out = append(out, Token{f, start, len(s)})
		}
	}
	return out
}

// Fold lower-cases a word and removes its diacritics ("Crème" → "creme").
func Fold(w string) string {
	ascii := true
	for i := 0; i < len(w); i++ {
		if w[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(w)
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(w) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return norm.NFC.String(b.String())
}

// Normalize returns s as its folded words joined by single spaces, and
// their number: the text an engine whose own parser splits words
// differently (PostgreSQL's) indexes, so that both engines see the same
// words.
func Normalize(s string) (string, int) {
	toks := Tokens(s)
	var b strings.Builder
	for i, t := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.Text)
	}
	return b.String(), len(toks)
}

// stopWords are left out of the words a query requires: they are in
// nearly every English text, so requiring them only loses matches, and
// their weight in a ranking is close to nothing. Inside a quoted phrase
// they stay.
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be but by for if in into is it no not of on or
		such that the their then there these they this to was will with`) {
		stopWords[w] = true
	}
}

// IsStopWord reports whether the folded word w is on the stop list.
func IsStopWord(w string) bool { return stopWords[w] }
