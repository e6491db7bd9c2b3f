package folder

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector/internal/sanitize"
	"github.com/engram-kb/engram/connector/internal/walk"
)

// maxFrontMatterBytes is how much bigger than engram.MaxContentBytes a file
// may be and still be read: the front matter does not count as content.
const maxFrontMatterBytes = 1 << 20

// Source reads a directory of notes. Each included file is one item:
//   - ExternalID is its path relative to the root, with forward slashes,
//     so a renamed file is a new item and its old id disappears;
//   - Title is the front matter's "title" when it is a string, else the
//     first Markdown heading, else the file name without its extension;
//   - Content is the text after the front matter;
//   - Metadata is {"path": …, "front_matter": {…}} or, for front matter
//     that is not valid YAML, {"front_matter_error": …, "front_matter_raw":
//     …}: the note is still imported;
//   - SourceUpdatedAt is the file's modification time;
//   - SourceType is "folder".
//
// Files that look binary, are not readable, or hold more than
// engram.MaxContentBytes of content are reported through fail.
type Source struct {
	settings Settings
}

// New returns a source for s, normally the result of ParseSettings. The
// settings are checked again at the start of each Items call.
func New(s Settings) *Source {
	return &Source{settings: s}
}

var _ engram.Resumer = (*Source)(nil)

// Items walks the directory and yields every wanted file as an item. It
// returns an EInvalid *engram.Error when the settings no longer hold (the
// directory is gone), ctx's error when cancelled, or yield's error.
func (s *Source) Items(ctx context.Context, yield func(engram.SourceItem) error, fail func(engram.SourceFailure)) error {
	return s.ItemsFrom(ctx, "", yield, fail)
}

// ItemsFrom is Items resumed after the file at cursor, an item's Cursor:
// its relative path. The walk is sorted, so it reads on from there without
// opening a file before it.
func (s *Source) ItemsFrom(ctx context.Context, cursor string, yield func(engram.SourceItem) error, fail func(engram.SourceFailure)) error {
	c, err := s.settings.compile()
	if err != nil {
		return err
	}
	report := func(rel string, err error) {
		fail(engram.SourceFailure{Ref: sanitize.String(rel), Reason: sanitize.String(err.Error())})
	}
	return walk.Files(ctx, c.root, walk.Options{Hidden: c.hidden, Within: s.settings.Within, From: cursor}, func(f walk.File) error {
		if !c.wanted(f.Rel) {
			return nil
		}
		item, err := readNote(f)
		if err != nil {
			report(f.Rel, err)
			return nil
		}
		item.Cursor = f.Rel
		return yield(item)
	}, report)
}

// readNote turns one file into an item; its errors are failure reasons.
func readNote(f walk.File) (engram.SourceItem, error) {
	limit := int64(engram.MaxContentBytes + maxFrontMatterBytes)
	if f.Info.Size() > limit {
		return engram.SourceItem{}, tooLarge(f.Info.Size())
	}
	file, err := f.Open()
	if err != nil {
		return engram.SourceItem{}, err
	}
	defer file.Close()
	// The file may have grown since it was listed.
	data, err := io.ReadAll(io.LimitReader(file, limit+1))
	if err != nil {
		return engram.SourceItem{}, err
	}
	if int64(len(data)) > limit {
		return engram.SourceItem{}, tooLarge(int64(len(data)))
	}
	return noteItem(f.Rel, f.Info.ModTime(), data)
}

// noteItem turns the bytes of the note at rel into an item; its errors
// are failure reasons.
func noteItem(rel string, mtime time.Time, data []byte) (engram.SourceItem, error) {
	text := decodeText(data)
	if looksBinary([]byte(text)) {
		return engram.SourceItem{}, fmt.Errorf("binary file (it contains NUL bytes); not a text note")
	}
	fm, body := splitFrontMatter(text)
	content := sanitize.String(body)
	if len(content) > engram.MaxContentBytes {
		return engram.SourceItem{}, tooLarge(int64(len(content)))
	}
	name := path.Base(rel)
	title, _ := fm.Fields["title"].(string)
	if strings.TrimSpace(title) == "" {
		title = heading(content)
	}
	meta := map[string]any{"path": rel}
	switch {
	case fm.Fields != nil:
		meta["front_matter"] = fm.Fields
	case fm.Err != "":
		meta["front_matter_error"] = fm.Err
		meta["front_matter_raw"] = fm.Raw
	}
	mtime = mtime.UTC()
	return engram.SourceItem{
		ExternalID:      sanitize.String(rel),
		SourceType:      "folder",
		Title:           sanitize.Title(title, strings.TrimSuffix(name, path.Ext(name))),
		Content:         content,
		SourceUpdatedAt: &mtime,
		Metadata:        sanitize.Metadata(meta),
	}, nil
}

func tooLarge(n int64) error {
	return fmt.Errorf("%.1f MiB of text; notes over %d MiB are not imported", float64(n)/(1<<20), engram.MaxContentBytes>>20)
}
