package engram

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitChunks(t *testing.T) {
	t.Parallel()
	para := strings.Repeat("Alpha beta gamma delta. ", 30) // 720 chars
	cases := []struct {
		name    string
		content string
		chunks  int
	}{
		{"empty", "", 0},
		{"blank", " \n\n\t ", 0},
		{"short", "One short note.", 1},
		{"exactly one chunk", strings.Repeat("x", ChunkSize), 1},
		{"paragraphs", strings.Repeat(para+"\n\n", 10), 5},
		{"one huge word", strings.Repeat("y", 5000), 3},
		{"multibyte", strings.Repeat("日本語のテキストです。", 600), 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := SplitChunks(c.content)
			if len(got) != c.chunks {
				t.Fatalf("%d chunks, want %d", len(got), c.chunks)
			}
			for i, ch := range got {
				n := utf8.RuneCountInString(ch.Content)
				if ch.Index != i || n == 0 || n > ChunkSize || !utf8.ValidString(ch.Content) || ch.TokenCount <= 0 {
					t.Fatalf("chunk %d: index %d, %d runes, valid %v, tokens %d", i, ch.Index, n, utf8.ValidString(ch.Content), ch.TokenCount)
				}
				if ch.Content != strings.TrimSpace(ch.Content) {
					t.Fatalf("chunk %d has surrounding white space", i)
				}
			}
		})
	}
}

func TestSplitChunksBoundariesAndOverlap(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := 0; b.Len() < 9000; i++ {
		b.WriteString("Sentence number ")
		b.WriteString(strings.Repeat("word ", i%7))
		b.WriteString("ends here. ")
		if i%9 == 8 {
			b.WriteString("\n\n")
		}
	}
	content := b.String()
	chunks := SplitChunks(content)
	if len(chunks) < 4 {
		t.Fatalf("%d chunks", len(chunks))
	}
	for i, c := range chunks {
		if !strings.Contains(content, c.Content) {
			t.Fatalf("chunk %d is not a piece of the content", i)
		}
		if i < len(chunks)-1 && !strings.HasSuffix(c.Content, ".") {
			t.Fatalf("chunk %d does not end at a sentence: %q", i, c.Content[len(c.Content)-20:])
		}
		if i > 0 {
			// The chunk starts within the previous one (overlap), at a word.
			prev := chunks[i-1].Content
			head := c.Content[:20]
			if !strings.Contains(prev, head) {
				t.Fatalf("chunk %d does not overlap chunk %d", i, i-1)
			}
			if !strings.HasPrefix(c.Content, "Sentence") && !strings.HasPrefix(c.Content, "word") &&
				!strings.HasPrefix(c.Content, "ends") && !strings.HasPrefix(c.Content, "number") && !strings.HasPrefix(c.Content, "here.") {
				t.Fatalf("chunk %d starts mid-word: %q", i, head)
			}
		}
	}
	// Every word of the content is in some chunk: nothing is lost.
	joined := ""
	for _, c := range chunks {
		joined += c.Content + " "
	}
	if strings.Count(joined, "Sentence") < strings.Count(content, "Sentence") {
		t.Fatal("chunks lost sentences")
	}
}

func TestNewIDIsOrderedAndParses(t *testing.T) {
	t.Parallel()
	prev := ""
	for i := 0; i < 10000; i++ {
		id := NewID()
		if id <= prev {
			t.Fatalf("id %s not after %s", id, prev)
		}
		if got, ok := ParseID(strings.ToUpper(id)); !ok || got != id {
			t.Fatalf("ParseID(%s) = %s, %v", id, got, ok)
		}
		if id[14] != '7' {
			t.Fatalf("not a version 7 id: %s", id)
		}
		prev = id
	}
	for _, bad := range []string{"", "x", "01a214a9-7e4c-7000-af38-10baa645399", "01a214a9-7e4c-7000-af38-10baa645399g", "01a214a97e4c-7000-af38-10baa64539966"} {
		if _, ok := ParseID(bad); ok {
			t.Fatalf("ParseID(%q) accepted", bad)
		}
	}
}

func TestNormalizeIDs(t *testing.T) {
	t.Parallel()
	a, b := NewID(), NewID()
	got, err := NormalizeIDs("document_ids", []string{a, strings.ToUpper(b), a})
	if err != nil || len(got) != 2 || got[0] != a || got[1] != b {
		t.Fatalf("NormalizeIDs = %v, %v", got, err)
	}
	_, err = NormalizeIDs("document_ids", []string{a, "nope"})
	if ErrorCode(err) != EInvalid || !strings.Contains(err.Error(), `document_ids[1]: "nope"`) {
		t.Fatalf("malformed id error = %v", err)
	}
	_, err = NormalizeIDs("document_ids", make([]string, MaxBulkIDs+1))
	if ErrorCode(err) != EInvalid || !strings.Contains(err.Error(), "at most 10000") {
		t.Fatalf("too many ids error = %v", err)
	}
	if _, err = NormalizeIDs("document_ids", nil); ErrorCode(err) != EInvalid {
		t.Fatalf("empty list error = %v", err)
	}
}
