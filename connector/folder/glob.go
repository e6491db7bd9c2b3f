package folder

import (
	"path"
	"strings"
)

// glob is a compiled include or exclude pattern, split on "/". A "**"
// segment matches any number of directories (none included); other segments
// follow path.Match, so "*" and "?" never cross a "/". Matching is against
// the whole relative path and is case-sensitive: "*.md" matches only files
// at the root, "**/*.md" matches them everywhere.
type glob []string

// compileGlob checks p and splits it. The error is path.ErrBadPattern or a
// plain description.
func compileGlob(p string) (glob, error) {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil, errEmptyPattern
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "" {
			return nil, errEmptySegment
		}
		if _, err := path.Match(s, ""); err != nil {
			return nil, err
		}
	}
	return segs, nil
}

// match reports whether the slash-separated relative path rel matches g.
func (g glob) match(rel string) bool {
	return matchSegments(g, strings.Split(rel, "/"))
}

func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				// A trailing "**" matches what is inside a directory, not
				// the directory's own name.
				return len(name) > 0
			}
			for i := range len(name) {
				if matchSegments(pat, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

type globError string

func (e globError) Error() string { return string(e) }

const (
	errEmptyPattern = globError("empty pattern")
	errEmptySegment = globError("empty path segment (\"//\" or a trailing \"/\")")
)
