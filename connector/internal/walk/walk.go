// Package walk lists the regular files under a directory for the file-based
// connectors, in a stable order (sorted by name at every level, as
// filepath.WalkDir reads them).
//
// Entries whose names start with a dot (.obsidian, .git, .trash, .DS_Store)
// are skipped unless Options.Hidden is set: they are tool state, not notes.
// Symbolic links to files are read as files. Symbolic links to directories
// are followed when their target lies outside every tree already being
// walked. With Options.Within set, a link whose target leaves that
// directory is reported and skipped, and files are opened confined to it
// (see Open), so a link swapped in after the walk cannot lead out either. A link to a directory that encloses the link (a loop) is reported
// and skipped; a link into a tree already walked is skipped silently (its
// files are read under their first path), and one to a directory holding
// such a tree is reported and skipped: the walk always ends and reads each
// file once.
package walk

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File is one regular file found by Files.
type File struct {
	// Rel is the path relative to the root, with forward slashes, through
	// any followed links.
	Rel string
	// Path is the path to open.
	Path string
	// Info describes the file (the target, for a link).
	Info fs.FileInfo
	// within is Options.Within of the walk that found the file.
	within string
	// real is the link's resolved target, for a link: os.Root refuses
	// links with absolute targets, so a link is opened at its target.
	real string
}

// Options change what Files lists.
type Options struct {
	// Hidden lists dot files and descends into dot directories.
	Hidden bool
	// Within, when set, is the real path of the directory the walk must
	// stay in: the connector's allowed root. Links leading out of it are
	// failures.
	Within string
	// From, when set, resumes a walk after the file of that relative path
	// (see After): what comes before it, or is it, is neither visited nor
	// reported, and directories wholly before it are not read.
	From string
}

// After reports whether the file or directory at relative path rel comes
// after the one at from in the order Files walks them: by name at every
// level, a directory before what it holds. Every path is after "". It is
// not a comparison of the strings: "a/b" is walked before "a.txt" ('.' <
// '/'), since the directory "a" sorts before "a.txt".
func After(rel, from string) bool {
	if from == "" {
		return true
	}
	r, f := strings.Split(rel, "/"), strings.Split(from, "/")
	for i := 0; i < len(r) && i < len(f); i++ {
		if r[i] != f[i] {
			return r[i] > f[i]
		}
	}
	return len(r) > len(f)
}

// holds reports whether the directory at relative path dir holds from.
func holds(dir, from string) bool {
	return strings.HasPrefix(from, dir+"/")
}

// errOutside is the failure of a link whose target leaves Options.Within.
var errOutside = errors.New("symbolic link leads outside the directory this connector may read; skipped")

// Open opens the file at path p for reading. With within set, p must lie
// under within and is opened through an os.Root there: every symbolic link
// on the way is resolved inside within, and one that leads out fails.
func Open(within, p string) (*os.File, error) {
	if within == "" {
		return os.Open(p)
	}
	rel, err := filepath.Rel(within, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		// p may name within through a link (a settings path is not
		// resolved): compare real paths.
		real, rerr := filepath.EvalSymlinks(p)
		if rerr != nil {
			return nil, rerr
		}
		if rel, err = filepath.Rel(within, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, errOutside
		}
	}
	f, err := os.OpenInRoot(within, rel)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes") {
			return nil, errOutside
		}
		return nil, err
	}
	return f, nil
}

// Open opens the file for reading, confined to Options.Within.
func (f File) Open() (*os.File, error) {
	if f.real != "" {
		return Open(f.within, f.real)
	}
	return Open(f.within, f.Path)
}

// Files calls visit for every regular file under root, in a stable order.
// Entries that cannot be read are reported through fail with their relative
// path and skipped. It returns the first error of visit, ctx's error when
// ctx is cancelled, or an error when root itself cannot be read.
func Files(ctx context.Context, root string, opt Options, visit func(File) error, fail func(rel string, err error)) error {
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	if opt.Within != "" && !within(real, opt.Within) {
		return &os.PathError{Op: "walk", Path: root, Err: errOutside}
	}
	w := &walker{ctx: ctx, opt: opt, visit: visit, fail: fail, roots: []string{real}}
	return w.walk(real, "")
}

type walker struct {
	ctx   context.Context
	opt   Options
	visit func(File) error
	fail  func(string, error)
	// roots are the real paths of the trees walked so far: the root and
	// the targets of followed links.
	roots []string
}

func (w *walker) walk(dir, prefix string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if cerr := w.ctx.Err(); cerr != nil {
			return cerr
		}
		rel := relative(dir, p, prefix)
		if w.opt.From != "" && (p != dir || prefix != "") && !After(rel, w.opt.From) {
			// Before the resume point: a directory that holds it is read
			// for what follows it, anything else was done already.
			if d != nil && d.IsDir() && holds(rel, w.opt.From) {
				if err != nil {
					return fs.SkipDir
				}
				return nil
			}
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			if d != nil && d.Type()&fs.ModeSymlink != 0 {
				// A linked tree before the resume point is not read, but
				// it is remembered as read, as the first walk did.
				return w.link(p, rel, !holds(rel, w.opt.From))
			}
			return nil
		}
		if err != nil {
			if p == dir && prefix == "" {
				return err
			}
			w.fail(rel, err)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if p == dir {
			return nil
		}
		if !w.opt.Hidden && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			return w.link(p, rel, false)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				w.fail(rel, err)
				return nil
			}
			return w.visitFile(File{Rel: rel, Path: p, Info: info, within: w.opt.Within})
		}
		return nil // devices, sockets, pipes: never notes or messages
	})
}

// visitFile calls visit, making sure a fs.SkipDir or fs.SkipAll from it
// cannot be mistaken for a walk instruction.
func (w *walker) visitFile(f File) error {
	err := w.visit(f)
	if errors.Is(err, fs.SkipDir) || errors.Is(err, fs.SkipAll) {
		return &os.PathError{Op: "visit", Path: f.Rel, Err: err}
	}
	return err
}

// link follows the link at p. skip, for a link before the resume point,
// reports nothing and reads nothing: a linked tree is only remembered.
func (w *walker) link(p, rel string, skip bool) error {
	fail := w.fail
	if skip {
		fail = func(string, error) {}
	}
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		fail(rel, errors.New("broken symbolic link"))
		return nil
	}
	if w.opt.Within != "" && !within(target, w.opt.Within) {
		fail(rel, errOutside)
		return nil
	}
	info, err := os.Stat(target)
	if err != nil {
		fail(rel, err)
		return nil
	}
	if info.Mode().IsRegular() {
		if skip {
			return nil
		}
		return w.visitFile(File{Rel: rel, Path: p, Info: info, within: w.opt.Within, real: target})
	}
	if !info.IsDir() {
		return nil
	}
	if within(filepath.Dir(p), target) {
		fail(rel, errors.New("symbolic link to a directory that encloses it (a loop); skipped"))
		return nil
	}
	for _, r := range w.roots {
		if within(target, r) {
			return nil
		}
		if within(r, target) {
			fail(rel, errors.New("symbolic link to a directory that holds one already read through another path; skipped"))
			return nil
		}
	}
	w.roots = append(w.roots, target)
	if skip {
		return nil
	}
	return w.walk(target, rel)
}

// within reports whether path p is dir or inside it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}

func relative(dir, p, prefix string) string {
	r, err := filepath.Rel(dir, p)
	if err != nil {
		r = p
	}
	r = filepath.ToSlash(r)
	if prefix == "" {
		return r
	}
	if r == "." {
		return prefix
	}
	return prefix + "/" + r
}
