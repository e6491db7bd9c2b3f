package classify

import (
	"fmt"
	"strings"
)

// phraseRule is one compiled phrase.
type phraseRule struct {
	words  []string
	group  int // index into phraseGroups
	class  class
	weight float64
	label  string
}

// matcher finds phrases in a tokenised text in one pass: each word is
// looked up once, and only phrases starting with it are compared further.
// This replaces a strings.Contains per phrase, which would read the text
// once per phrase and also match inside words ("sex" in "Essex").
type matcher struct {
	byFirst map[string][]int // first word → indexes into phraseRules
	// starts says whether some phrase starts with a word of this length
	// and first byte; most words fail it and skip the map lookup.
	starts [maxWordLen + 1][256]bool
}

// maxWordLen bounds the first words of phrases; it only sizes starts.
const maxWordLen = 31

var (
	phraseRules                = compilePhrases(phraseGroups)
	anyMatcher, subjectMatcher = buildMatchers(phraseRules, phraseGroups)
)

func compilePhrases(groups []phraseGroup) []phraseRule {
	var rules []phraseRule
	for gi, g := range groups {
		for _, p := range g.phrases {
			rules = append(rules, phraseRule{words: splitWords(p), group: gi, class: g.class, weight: g.weight, label: "'" + p + "'"})
		}
	}
	return rules
}

// buildMatchers panics on an empty or repeated phrase: both are mistakes
// in the tables that would silently skew the scores.
func buildMatchers(rules []phraseRule, groups []phraseGroup) (anyM, subjectM matcher) {
	anyM.byFirst = map[string][]int{}
	subjectM.byFirst = map[string][]int{}
	seen := map[string]bool{}
	i := 0
	for _, g := range groups {
		m := &anyM
		if g.titleOnly {
			m = &subjectM
		}
		for range g.phrases {
			r := rules[i]
			if len(r.words) == 0 {
				panic(fmt.Sprintf("classify: phrase %s has no words", r.label))
			}
			key := fmt.Sprint(g.titleOnly, r.words)
			if seen[key] {
				panic(fmt.Sprintf("classify: phrase %s listed twice", r.label))
			}
			seen[key] = true
			first := r.words[0]
			if len(first) > maxWordLen {
				panic(fmt.Sprintf("classify: phrase %s starts with a word longer than %d bytes", r.label, maxWordLen))
			}
			m.byFirst[first] = append(m.byFirst[first], i)
			m.starts[len(first)][first[0]] = true
			i++
		}
	}
	return anyM, subjectM
}

// Kinds of bytes, for the tokeniser.
const (
	// kindWord marks the bytes that make up words. '%' is kept so that
	// "100%" is a word of its own; bytes of multi-byte UTF-8 sequences
	// are kept so that accented words stay whole instead of breaking
	// into short ASCII pieces that could match a phrase.
	kindWord = 1 << iota
	kindLetter
	kindUpper
	// kindMark marks '!', '$' and '<', which shape rules look at.
	kindMark
)

var kinds, lowerBytes = func() (k [256]uint8, l [256]byte) {
	for c := 0; c < 256; c++ {
		l[c] = byte(c)
		switch {
		case c >= 'A' && c <= 'Z':
			k[c] = kindWord | kindLetter | kindUpper
			l[c] = byte(c) + 'a' - 'A'
		case c >= 'a' && c <= 'z':
			k[c] = kindWord | kindLetter
		case c >= '0' && c <= '9' || c == '%' || c >= 0x80:
			k[c] = kindWord
		case c == '!' || c == '$' || c == '<':
			k[c] = kindMark
		}
	}
	return k, l
}()

func splitWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r < 0x80 && kinds[r]&kindWord == 0 })
}

// span is a word as byte offsets into the lowercased text.
type span struct{ start, end int }

// textStats are the shape features of a text, counted while it is
// tokenised so that the text is read once.
type textStats struct {
	bytes    int
	letters  int
	upper    int
	bangs    int
	bangRuns int // runs of three or more '!'
	dollars  int // runs of "$$$"
	money    int // '$' followed by a digit
	tags     int
	tagBytes int
}

// maxTagLen is how far a '<' looks for its '>': further than that it is
// a less-than sign in plain text, not markup hiding the rest.
const maxTagLen = 2048

// tokenize lowercases text into s.lower (ASCII only: every phrase is
// ASCII) and records its words in s.words. Markup inside HTML tags is
// counted but not read: attributes such as width="100%" or <!-- would
// otherwise pass for words and exclamation marks.
func (s *scorer) tokenize(text string) textStats {
	st := textStats{bytes: len(text)}
	if cap(s.lower) < len(text) {
		s.lower = make([]byte, len(text))
	}
	// Bytes inside tags are not written: no word points at them.
	lower := s.lower[:len(text)]
	s.lower = lower
	s.words = s.words[:0]
	start, lastBang, lastDollar, bangRun, dollarRun := -1, -2, -2, 0, 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		k := kinds[c]
		lower[i] = lowerBytes[c]
		if k&kindWord != 0 {
			if start < 0 {
				start = i
			}
			if k&kindLetter != 0 {
				st.letters++
				if k&kindUpper != 0 {
					st.upper++
				}
			}
		} else if start >= 0 {
			s.words = append(s.words, span{start, i})
			start = -1
		}
		if k&kindMark == 0 {
			continue
		}
		switch c {
		case '!':
			st.bangs++
			if i == lastBang+1 {
				bangRun++
			} else {
				bangRun = 1
			}
			lastBang = i
			if bangRun == 3 {
				st.bangRuns++
			}
		case '$':
			if i == lastDollar+1 {
				dollarRun++
			} else {
				dollarRun = 1
			}
			lastDollar = i
			if dollarRun == 3 {
				st.dollars++
			}
			if i+1 < len(text) && text[i+1] >= '0' && text[i+1] <= '9' {
				st.money++
			}
		case '<':
			if end := tagEnd(text, i); end > 0 {
				st.tags++
				st.tagBytes += end - i
				i = end - 1
			}
		}
	}
	if start >= 0 {
		s.words = append(s.words, span{start, len(text)})
	}
	return st
}

// tagEnd returns the offset just past the tag that opens at text[i], or
// 0 when no tag opens there. Style sheets and scripts count as one tag
// through their closing tag: CSS says "font-family", which is no family.
func tagEnd(text string, i int) int {
	if i+1 >= len(text) {
		return 0
	}
	if c := text[i+1]; !(kinds[c]&kindLetter != 0 && c < 0x80 || c == '/' || c == '!') {
		return 0
	}
	if end := blockEnd(text, i); end > 0 {
		return end
	}
	j := strings.IndexByte(text[i:min(len(text), i+maxTagLen)], '>')
	if j < 0 {
		return 0
	}
	return i + j + 1
}

// blockEnd returns the offset just past the </style> or </script> that
// closes a block opening at text[i], the end of text when it is never
// closed, and 0 when no such block opens at i.
func blockEnd(text string, i int) int {
	for _, name := range [...]string{"style", "script"} {
		open := i + 1 + len(name)
		if open >= len(text) || !strings.EqualFold(text[i+1:open], name) || kinds[text[open]]&kindWord != 0 {
			continue
		}
		for j := open; j+2+len(name) <= len(text); j++ {
			if text[j] == '<' && text[j+1] == '/' && strings.EqualFold(text[j+2:j+2+len(name)], name) {
				if k := strings.IndexByte(text[j:], '>'); k >= 0 {
					return j + k + 1
				}
				return len(text)
			}
		}
		return len(text)
	}
	return 0
}

// match records every phrase of m found in the tokenised text.
func (s *scorer) match(m *matcher) {
	for i, w := range s.words {
		word := s.lower[w.start:w.end]
		n := len(word)
		if n <= maxWordLen && m.starts[n][word[0]] {
			s.matchAt(m.byFirst[string(word)], i)
		}
		// A trailing s is tried off for single words so that the tables
		// need not list plurals ("meetings", "deadlines").
		if n > 3 && n-1 <= maxWordLen && word[n-1] == 's' && m.starts[n-1][word[0]] {
			for _, r := range m.byFirst[string(word[:n-1])] {
				if len(phraseRules[r].words) == 1 {
					s.hit(r)
				}
			}
		}
	}
}

func (s *scorer) matchAt(candidates []int, i int) {
	for _, r := range candidates {
		words := phraseRules[r].words
		if i+len(words) > len(s.words) {
			continue
		}
		ok := true
		for j := 1; j < len(words); j++ {
			w := s.words[i+j]
			if string(s.lower[w.start:w.end]) != words[j] {
				ok = false
				break
			}
		}
		if ok {
			s.hit(r)
		}
	}
}
