package engram

import (
	"strings"
	"unicode"
)

// Chunking parameters, in characters (runes).
const (
	ChunkSize    = 2000
	ChunkOverlap = 200
)

// Chunk is a piece of a document's content, the unit search indexes.
type Chunk struct {
	Index      int    `json:"chunk_index"`
	Content    string `json:"content"`
	TokenCount int    `json:"token_count"`
}

// SplitChunks splits content into chunks of about ChunkSize characters with
// about ChunkOverlap characters of overlap. It prefers to cut at a paragraph
// break, then at the end of a sentence, then between words, and only cuts
// inside a word when a single word is longer than a chunk. It works on runes,
// so it never splits a multi-byte character. Empty content has no chunks.
func SplitChunks(content string) []Chunk {
	return splitChunks([]rune(content), ChunkSize, ChunkOverlap)
}

func splitChunks(r []rune, size, overlap int) []Chunk {
	var out []Chunk
	n := len(r)
	pos := skipSpace(r, 0)
	for pos < n {
		end := pos + size
		if end >= n {
			end = n
		} else {
			end = breakPoint(r, pos, end)
		}
		text := strings.TrimSpace(string(r[pos:end]))
		if text != "" {
			out = append(out, Chunk{Index: len(out), Content: text, TokenCount: estimateTokens(text)})
		}
		if end >= n {
			break
		}
		next := end - overlap
		if next <= pos {
			next = end
		} else {
			next = wordStart(r, next, end)
		}
		pos = skipSpace(r, next)
	}
	return out
}

// breakPoint finds where to end a chunk that starts at pos and may not go
// past limit. It searches the second half of the window so chunks stay near
// full size.
func breakPoint(r []rune, pos, limit int) int {
	floor := pos + (limit-pos)/2
	// Paragraph break: a blank line.
	for i := limit - 1; i > floor; i-- {
		if r[i] == '\n' && r[i-1] == '\n' {
			return i + 1
		}
	}
	// Sentence end: terminal punctuation followed by white space, or a
	// full-width terminal mark, which needs none (Chinese, Japanese).
	for i := limit - 1; i > floor; i-- {
		if unicode.IsSpace(r[i]) && (r[i-1] == '.' || r[i-1] == '!' || r[i-1] == '?') {
			return i + 1
		}
		if r[i-1] == '。' || r[i-1] == '！' || r[i-1] == '？' {
			return i
		}
	}
	// Word boundary.
	for i := limit - 1; i > floor; i-- {
		if unicode.IsSpace(r[i]) {
			return i + 1
		}
	}
	return limit
}

// wordStart moves i forward to the start of the next word, so an overlap
// never begins mid-word, but not past end.
func wordStart(r []rune, i, end int) int {
	if i == 0 || unicode.IsSpace(r[i-1]) {
		return i
	}
	for j := i; j < end; j++ {
		if unicode.IsSpace(r[j]) {
			return j + 1
		}
	}
	return i
}

func skipSpace(r []rune, i int) int {
	for i < len(r) && unicode.IsSpace(r[i]) {
		i++
	}
	return i
}

// estimateTokens approximates a tokenizer's count: about four characters a
// token, never less than the number of words.
func estimateTokens(s string) int {
	runes := len([]rune(s))
	t := (runes + 3) / 4
	if w := len(strings.Fields(s)); w > t {
		t = w
	}
	return t
}
