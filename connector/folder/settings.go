// Package folder is the connector source for a directory of notes, such as
// an Obsidian vault: every file matching the include patterns becomes one
// item, keyed by its path relative to the root.
package folder

import (
	"encoding/json"
	"path"
	"strconv"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector/internal/setting"
)

// DefaultInclude is the include list when settings give none.
var DefaultInclude = []string{"**/*.md", "**/*.txt"}

// Settings configure a folder source.
type Settings struct {
	// Path is the absolute path of the root directory.
	Path string `json:"path"`
	// Include lists the glob patterns of the files to read, relative to
	// Path; see the package documentation for the syntax.
	Include []string `json:"include"`
	// Exclude lists patterns of files to leave out even when included.
	Exclude []string `json:"exclude"`
	// IncludeHidden reads dot files and dot directories (.obsidian, .git,
	// .trash), which are skipped by default.
	IncludeHidden bool `json:"include_hidden"`
	// Within is the real path of the directory the server allows this
	// connector to read (set by connector.Registry, never from JSON): a
	// symbolic link leading out of it is a failed item, not a document.
	Within string `json:"-"`
}

// ParseSettings decodes and validates folder settings. Unknown keys are
// rejected; Include defaults to DefaultInclude. Errors are *engram.Error
// with code EInvalid and name the field, e.g. `settings.include[1]: bad
// pattern "[a"`.
func ParseSettings(raw json.RawMessage) (Settings, error) {
	m, err := setting.Fields(raw, "path", "include", "exclude", "include_hidden")
	if err != nil {
		return Settings{}, err
	}
	var s Settings
	if s.Path, err = setting.String(m, "path"); err != nil {
		return Settings{}, err
	}
	if s.Include, err = setting.Strings(m, "include"); err != nil {
		return Settings{}, err
	}
	if s.Exclude, err = setting.Strings(m, "exclude"); err != nil {
		return Settings{}, err
	}
	if s.IncludeHidden, err = setting.Bool(m, "include_hidden"); err != nil {
		return Settings{}, err
	}
	if s.Include == nil {
		s.Include = append([]string(nil), DefaultInclude...)
	}
	c, err := s.compile()
	if err != nil {
		return Settings{}, err
	}
	s.Path = c.root
	return s, nil
}

// compiled is Settings checked and ready for a walk.
type compiled struct {
	root             string
	include, exclude []glob
	hidden           bool
}

// compile validates s: Path must be an existing directory and every pattern
// must compile. It also runs at the start of each sync, since the directory
// can go away after the settings were saved.
func (s Settings) compile() (compiled, error) {
	root, info, err := setting.Path(s.Path)
	if err != nil {
		return compiled{}, err
	}
	if !info.IsDir() {
		return compiled{}, engram.Errorf(engram.EInvalid, "settings.path: must be a directory")
	}
	c := compiled{root: root, hidden: s.IncludeHidden}
	if len(s.Include) == 0 {
		return compiled{}, engram.Errorf(engram.EInvalid, "settings.include: must list at least one pattern")
	}
	if c.include, err = compileGlobs("include", s.Include); err != nil {
		return compiled{}, err
	}
	if c.exclude, err = compileGlobs("exclude", s.Exclude); err != nil {
		return compiled{}, err
	}
	return c, nil
}

func compileGlobs(field string, patterns []string) ([]glob, error) {
	out := make([]glob, len(patterns))
	for i, p := range patterns {
		g, err := compileGlob(p)
		if err == path.ErrBadPattern {
			return nil, engram.Errorf(engram.EInvalid, "settings.%s[%d]: bad pattern %s", field, i, strconv.Quote(p))
		}
		if err != nil {
			return nil, engram.Errorf(engram.EInvalid, "settings.%s[%d]: bad pattern %s: %v", field, i, strconv.Quote(p), err)
		}
		out[i] = g
	}
	return out, nil
}

// wanted reports whether the relative path rel is included and not
// excluded.
func (c compiled) wanted(rel string) bool {
	return matchAny(c.include, rel) && !matchAny(c.exclude, rel)
}

func matchAny(globs []glob, rel string) bool {
	for _, g := range globs {
		if g.match(rel) {
			return true
		}
	}
	return false
}
