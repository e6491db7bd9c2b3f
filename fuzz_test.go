package engram

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzSplitChunks checks what SplitChunks promises on any text: chunks
// cover the content in order, each is a trimmed, non-empty piece of it
// within the size limit, and blank content has none. The small sizes
// reach the boundary rules with short inputs; the real sizes run too.
func FuzzSplitChunks(f *testing.F) {
	f.Add("One short note.", uint8(8), uint8(2))
	f.Add("Alpha beta. Gamma delta!\n\nEpsilon zeta? Eta theta.", uint8(12), uint8(4))
	f.Add("日本語のテキストです。日本語のテキストです。", uint8(6), uint8(2))
	f.Add(" \n\n\t ", uint8(4), uint8(1))
	f.Add("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", uint8(5), uint8(4))
	f.Add("a a a a a a a a a a a a", uint8(3), uint8(2))
	f.Add("x\xffy\xfe z. w\n\nv", uint8(2), uint8(1))
	f.Fuzz(func(t *testing.T, content string, size, overlap uint8) {
		// Tiny chunks of long text are slow to check and find nothing new.
		if len(content) > 8<<10 {
			content = content[:8<<10]
		}
		sz := int(size%64) + 1
		ov := int(overlap) % sz
		checkChunks(t, content, splitChunks([]rune(content), sz, ov), sz)
		checkChunks(t, content, SplitChunks(content), ChunkSize)
	})
}

// checkChunks fails unless chunks is a covering of content as SplitChunks
// promises, for chunks of at most size runes.
func checkChunks(t *testing.T, content string, chunks []Chunk, size int) {
	t.Helper()
	// Chunking works on runes: invalid bytes are already U+FFFD.
	s := string([]rune(content))
	for i, c := range chunks {
		n := utf8.RuneCountInString(c.Content)
		switch {
		case c.Index != i:
			t.Fatalf("chunk %d has index %d", i, c.Index)
		case n == 0 || n > size:
			t.Fatalf("chunk %d has %d runes, limit %d", i, n, size)
		case c.Content != strings.TrimSpace(c.Content):
			t.Fatalf("chunk %d is not trimmed: %q", i, c.Content)
		case !utf8.ValidString(c.Content):
			t.Fatalf("chunk %d is not valid UTF-8", i)
		case c.TokenCount <= 0:
			t.Fatalf("chunk %d has %d tokens", i, c.TokenCount)
		}
	}
	if !coveredInOrder(s, chunks) {
		t.Fatalf("chunks %q do not cover %q in order", contents(chunks), s)
	}
}

// coveredInOrder reports whether the chunks can be placed in s, each at a
// start after the previous one's, so that no character but white space is
// left outside every chunk. A chunk may occur in s more than once; the
// placements still possible for each chunk are carried forward, so the
// check holds whichever occurrence the chunker cut.
func coveredInOrder(s string, chunks []Chunk) bool {
	if len(chunks) == 0 {
		return strings.TrimSpace(s) == ""
	}
	// gapStart[p] is where the white space that ends at p begins: a chunk
	// placed at p covers the text when the previous one reaches it.
	gapStart := make([]int, len(s)+1)
	for p := 0; p <= len(s); p++ {
		gapStart[p] = p
		if p > 0 {
			r, size := utf8.DecodeLastRuneInString(s[:p])
			if isSpace(r) {
				gapStart[p] = gapStart[p-size]
			}
		}
	}
	var prev []int // possible starts of the previous chunk, ascending
	prevLen := 0
	for i, c := range chunks {
		var cur []int
		from := 0
		if i > 0 {
			from = prev[0] + 1 // starts only grow
		}
		for {
			k := strings.Index(s[from:], c.Content)
			if k < 0 {
				break
			}
			p := from + k
			_, size := utf8.DecodeRuneInString(s[p:])
			from = p + max(size, 1)
			if i == 0 {
				if gapStart[p] > 0 {
					break // text before p that no chunk covers
				}
				cur = append(cur, p)
				continue
			}
			// Some earlier placement q < p must reach the gap before p;
			// gapStart only grows with p, so once the last one cannot,
			// none further on can.
			if gapStart[p]-prevLen > prev[len(prev)-1] {
				break
			}
			j, _ := slices.BinarySearch(prev, gapStart[p]-prevLen)
			if j < len(prev) && prev[j] < p {
				cur = append(cur, p)
			}
		}
		if len(cur) == 0 {
			return false
		}
		prev, prevLen = cur, len(c.Content)
	}
	for _, q := range prev {
		if strings.TrimSpace(s[q+prevLen:]) == "" {
			return true
		}
	}
	return false
}

func isSpace(r rune) bool { return strings.TrimSpace(string(r)) == "" }

func contents(chunks []Chunk) []string {
	out := make([]string, len(chunks))
	for i, c := range chunks {
		out[i] = c.Content
	}
	return out
}

var fuzzSorts = []DocumentSort{SortCreatedAt, SortSourceCreatedAt, SortTitle, SortConfidence}

// FuzzCursorRoundTrip makes the cursor of a document as a list does and
// checks that DecodeCursor gives it back unchanged, for every sort.
func FuzzCursorRoundTrip(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), int64(1714555800123456789), int64(-62135596800), true, "Quarterly plan", 0.92, true, uint8(0), false)
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), int64(0), int64(253402300799), false, "", 0.0, false, uint8(1), true)
	f.Add([]byte("................"), int64(-1), int64(0), true, "日本語 \u2028 \"quotes\" <tags> &amp;", math.Inf(1), true, uint8(2), true)
	f.Add([]byte("abcdefghijklmnop"), int64(42), int64(42), true, "t", 5e-324, true, uint8(3), false)
	f.Fuzz(func(t *testing.T, idBytes []byte, created, sourceCreated int64, hasSource bool, title string, conf float64, hasConf bool, sortIdx uint8, desc bool) {
		// Titles and times are what the store lets in.
		if !utf8.ValidString(title) || strings.ContainsRune(title, 0) {
			return
		}
		var raw [16]byte
		copy(raw[:], idBytes)
		d := Document{ID: formatID(raw), Title: title, CreatedAt: time.Unix(0, created).UTC()}
		if hasSource {
			// Seconds from the Unix epoch, folded into the years 0001-9999.
			span := MaxTime.Unix() - MinTime.Unix()
			sec := MinTime.Unix() + int64(uint64(sourceCreated)%uint64(span))
			st := time.Unix(sec, int64(uint64(created)%1e9)).UTC().Truncate(time.Microsecond)
			d.SourceCreatedAt = &st
		}
		if hasConf {
			d.ClassificationConfidence = &conf
		}
		sort := fuzzSorts[int(sortIdx)%len(fuzzSorts)]
		c := CursorFor(d, sort, desc)
		got, err := DecodeCursor(c.Encode(), sort, desc)
		if err != nil {
			t.Fatalf("DecodeCursor(Encode(%+v)): %v", c, err)
		}
		if !sameCursor(*got, c) {
			t.Fatalf("round trip of %+v gave %+v", c, got)
		}
	})
}

// FuzzDecodeCursor feeds DecodeCursor arbitrary text: it never panics,
// refuses with invalid_argument only, and what it accepts is a cursor
// that the list can use as it is: its sort and order, a canonical id, a
// value that parses for the sort and that a text column of either engine
// can be compared with, and an encoding that decodes to itself.
func FuzzDecodeCursor(f *testing.F) {
	id := "0190b8f2-7c1e-7d3a-9f00-0123456789ab"
	v := "2024-05-01T09:30:00.123456Z"
	f.Add(Cursor{Sort: SortCreatedAt, Value: &v, ID: id}.Encode(), uint8(0), false)
	f.Add(Cursor{Sort: SortSourceCreatedAt, Desc: true, ID: id}.Encode(), uint8(1), true)
	title := "a title"
	f.Add(Cursor{Sort: SortTitle, Value: &title, ID: id}.Encode(), uint8(2), false)
	conf := "0.5"
	f.Add(Cursor{Sort: SortConfidence, Desc: true, Value: &conf, ID: id}.Encode(), uint8(3), true)
	f.Add("", uint8(0), false)
	f.Add("not a cursor", uint8(2), false)
	// A title value with NUL: valid JSON, but PostgreSQL text refuses it.
	nul := "a\x00b"
	f.Add(Cursor{Sort: SortTitle, Value: &nul, ID: id}.Encode(), uint8(2), false)
	f.Fuzz(func(t *testing.T, s string, sortIdx uint8, desc bool) {
		sort := fuzzSorts[int(sortIdx)%len(fuzzSorts)]
		c, err := DecodeCursor(s, sort, desc)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != EInvalid {
				t.Fatalf("DecodeCursor(%q) error %v is not invalid_argument", s, err)
			}
			return
		}
		if c.Sort != sort || c.Desc != desc {
			t.Fatalf("DecodeCursor(%q) accepted a cursor of %s/%v for %s/%v", s, c.Sort, c.Desc, sort, desc)
		}
		if canon, ok := ParseID(c.ID); !ok || canon != c.ID {
			t.Fatalf("DecodeCursor(%q) accepted id %q", s, c.ID)
		}
		if c.Value != nil && (!utf8.ValidString(*c.Value) || strings.ContainsRune(*c.Value, 0)) {
			t.Fatalf("DecodeCursor(%q) accepted value %q, which PostgreSQL text refuses", s, *c.Value)
		}
		again, err := DecodeCursor(c.Encode(), sort, desc)
		if err != nil || !sameCursor(*again, *c) {
			t.Fatalf("re-encoded cursor %+v decodes to %+v, %v", c, again, err)
		}
	})
}

// sameCursor reports whether a and b are the same position.
func sameCursor(a, b Cursor) bool {
	return a.Sort == b.Sort && a.Desc == b.Desc && a.ID == b.ID && (a.Value == nil) == (b.Value == nil) &&
		(a.Value == nil || *a.Value == *b.Value)
}

// FuzzMetadata checks that metadata the store accepts can be read back
// by a client that reads JSON numbers as doubles.
func FuzzMetadata(f *testing.F) {
	f.Add(`{"a":1,"b":[1.5,-2e10,{"c":null}],"d":"x"}`)
	f.Add(`{"n":9007199254740993}`)
	// Accepted once, and then no Go or JavaScript client could read a
	// list holding the document.
	f.Add(`{"x":{"y":[1e309]}}`)
	f.Add(`{"tiny":1e-400,"neg":-1e308}`)
	f.Fuzz(func(t *testing.T, raw string) {
		norm, err := normaliseObject(json.RawMessage(raw))
		if err != nil {
			if err.Code != EInvalid {
				t.Fatalf("normaliseObject(%q): %v", raw, err)
			}
			return
		}
		var v any
		if err := json.Unmarshal([]byte(norm), &v); err != nil {
			t.Fatalf("normaliseObject(%q) = %q, which a client cannot read: %v", raw, norm, err)
		}
		if _, ok := v.(map[string]any); !ok {
			t.Fatalf("normaliseObject(%q) = %q, not an object", raw, norm)
		}
	})
}
