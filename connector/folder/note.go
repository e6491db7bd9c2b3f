package folder

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf16"

	"github.com/engram-kb/engram"
	"gopkg.in/yaml.v3"
)

// frontMatter is what a note's leading YAML block held.
type frontMatter struct {
	// Fields is the decoded mapping; nil when there was none or it was
	// malformed.
	Fields map[string]any
	// Err and Raw are set when the block was present but not a YAML
	// mapping: the note is still read, and the text is kept for the user.
	Err string
	Raw string
}

// splitFrontMatter separates a leading front matter block from text. The
// block starts with a first line "---" and ends at the next line "---" (or
// YAML's "..."); without a closing line the text has no front matter, as
// in Obsidian. A block that does not decode to a mapping is still cut off
// the content, since its delimiters say it is not prose, and comes back in
// Err and Raw.
func splitFrontMatter(text string) (frontMatter, string) {
	first, rest, ok := strings.Cut(text, "\n")
	if !ok || strings.TrimRight(first, " \t\r") != "---" {
		return frontMatter{}, text
	}
	var block strings.Builder
	for {
		line, after, more := strings.Cut(rest, "\n")
		if l := strings.TrimRight(line, " \t\r"); l == "---" || l == "..." {
			return decodeFrontMatter(block.String()), after
		}
		if !more {
			return frontMatter{}, text
		}
		block.WriteString(line)
		block.WriteByte('\n')
		rest = after
	}
}

func decodeFrontMatter(raw string) frontMatter {
	if strings.TrimSpace(raw) == "" {
		return frontMatter{}
	}
	var v any
	if err := yaml.Unmarshal([]byte(raw), &v); err != nil {
		return frontMatter{Err: err.Error(), Raw: raw}
	}
	switch m := v.(type) {
	case map[string]any:
		// The store would refuse the whole note for metadata nested too
		// deeply; the block is kept as text instead.
		if nesting(m) > maxFrontMatterDepth {
			return frontMatter{Err: fmt.Sprintf("front matter nests deeper than %d levels", maxFrontMatterDepth), Raw: raw}
		}
		return frontMatter{Fields: m}
	case nil:
		return frontMatter{}
	default:
		return frontMatter{Err: "front matter is not a mapping of keys to values", Raw: raw}
	}
}

// maxFrontMatterDepth is how deeply front matter may nest: it sits one
// level down in a note's metadata, which engram.MaxMetadataDepth bounds.
const maxFrontMatterDepth = engram.MaxMetadataDepth - 1

// nesting is how deeply a decoded YAML value nests: 0 for a scalar.
func nesting(v any) int {
	var children []any
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			children = append(children, e)
		}
	case map[any]any:
		for _, e := range x {
			children = append(children, e)
		}
	case []any:
		children = x
	default:
		return 0
	}
	d := 0
	for _, e := range children {
		d = max(d, nesting(e))
	}
	return d + 1
}

// heading returns the text of the first Markdown heading of text, ATX
// ("# Title") or setext ("Title" over "===" or "---"), outside fenced code
// blocks; "" when there is none.
func heading(text string) string {
	var prev string
	fence := ""
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, " \t\r\n")
		trimmed := strings.TrimLeft(line, " ")
		if f := fenceOf(trimmed); f != "" {
			switch {
			case fence == "":
				fence = f
			case strings.HasPrefix(trimmed, fence):
				fence = ""
			}
			prev = ""
			continue
		}
		if fence != "" || len(line)-len(trimmed) > 3 {
			prev = ""
			continue
		}
		if m := atxHeading.FindStringSubmatch(trimmed); m != nil {
			if t := strings.TrimSpace(closingHashes.ReplaceAllString(m[1], "")); t != "" {
				return t
			}
		}
		if prev != "" && setextUnderline.MatchString(trimmed) {
			return strings.TrimSpace(prev)
		}
		prev = trimmed
	}
	return ""
}

var (
	atxHeading      = regexp.MustCompile(`^#{1,6}(?:[ \t]+(.*))?$`)
	closingHashes   = regexp.MustCompile(`(?:^|[ \t]+)#+$`)
	setextUnderline = regexp.MustCompile(`^(?:=+|-+)$`)
)

func fenceOf(line string) string {
	for _, f := range []string{"```", "~~~"} {
		if strings.HasPrefix(line, f) {
			return f
		}
	}
	return ""
}

// decodeText turns a file's bytes into a string: UTF-16 with a byte order
// mark (as Windows Notepad writes) is converted, a UTF-8 byte order mark is
// dropped. Invalid UTF-8 is left for sanitize to replace.
func decodeText(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return string(b[3:])
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return utf16String(b[2:], false)
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return utf16String(b[2:], true)
	}
	return string(b)
}

func utf16String(b []byte, bigEndian bool) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	return string(utf16.Decode(u))
}

// looksBinary reports whether b starts like a binary file: a NUL byte in its
// first 8000 bytes, the test git uses. UTF-16 text is decoded before this.
func looksBinary(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0
}
