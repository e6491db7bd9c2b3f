package mail

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector/internal/sanitize"
	"github.com/engram-kb/engram/connector/internal/walk"
)

// Source reads mail files. Each message is one item:
//   - ExternalID is the Message-ID without angle brackets. A message
//     without one gets "sha256:" and a hash of its Date, From, Subject and
//     text, the same on every run. Real mailboxes hold several messages
//     under one Message-ID: a second message with the same id and the same
//     text (the same mail delivered twice, or kept in two folders) is
//     reported through fail as a duplicate, since importing it twice would
//     make two documents of one; one with different text keeps the id with
//     "#" and a hash of its text appended, so that both are imported and
//     keep their ids from run to run.
//   - Title is the decoded Subject, "(no subject)" when empty; Sender and
//     SenderEmail come from From; Recipients are the addresses of To and
//     Cc, lowercased and deduplicated; SourceCreatedAt is the Date.
//   - Content is the text/plain parts, else the HTML parts as text.
//   - SourceType is "mail".
//   - Metadata holds path (the file under the root; offset, the byte of
//     the message in an mbox after the first), headers (the headers a
//     classifier reads, see classifierHeaders), link_hosts (the hosts
//     its links point to, at most 20), message_id, in_reply_to, references, cc, folder (the
//     directory or mbox the message came from), labels (Gmail's
//     X-Gmail-Labels), has_attachments and attachment_names, each only
//     when it has a value.
type Source struct {
	settings Settings
}

// New returns a source for s, normally the result of ParseSettings. The
// settings are checked again at the start of each Items call.
func New(s Settings) *Source {
	return &Source{settings: s}
}

var _ engram.Resumer = (*Source)(nil)

// Items reads every message and yields it. It returns an EInvalid
// *engram.Error when the settings no longer hold (the path is gone), ctx's
// error when cancelled, or yield's error.
func (s *Source) Items(ctx context.Context, yield func(engram.SourceItem) error, fail func(engram.SourceFailure)) error {
	return s.ItemsFrom(ctx, "", yield, fail)
}

// ItemsFrom is Items resumed after the message at cursor, an item's
// Cursor: the byte offset of the message in its file (0 for a file of one
// message), a space, and the file's relative path. The messages before it
// are still read and parsed, but neither yielded nor reported: the ids
// given to repeated Message-IDs depend on every message before (see
// Source), so resuming rebuilds them rather than storing them.
func (s *Source) ItemsFrom(ctx context.Context, cursor string, yield func(engram.SourceItem) error, fail func(engram.SourceFailure)) error {
	from, err := parsePosition(cursor)
	if err != nil {
		return err
	}
	root, err := s.settings.check()
	if err != nil {
		return err
	}
	info, err := os.Stat(root)
	if err != nil {
		return err
	}
	r := &run{ctx: ctx, yield: yield, fail: fail, within: s.settings.Within, seen: map[[16]byte][16]byte{}, from: from}
	if !info.IsDir() {
		return r.file(func() (*os.File, error) { return walk.Open(r.within, root) }, filepath.Base(root), "")
	}
	tmp := map[string]bool{}
	return walk.Files(ctx, root, walk.Options{Within: s.settings.Within}, func(f walk.File) error {
		dir := path.Dir(f.Rel)
		if path.Base(dir) == "tmp" {
			inMaildir, ok := tmp[dir]
			if !ok {
				inMaildir = isMaildir(filepath.Dir(filepath.Dir(f.Path)))
				tmp[dir] = inMaildir
			}
			if inMaildir {
				return nil // being delivered: it will be in new/ next time
			}
		}
		return r.file(f.Open, f.Rel, dir)
	}, func(rel string, err error) {
		if r.past(position{rel: rel}) {
			r.failed(rel, err.Error())
		}
	})
}

// position is where a message is: its file, and the offset of its "From "
// line in an mbox (0 for a file of one message).
type position struct {
	rel string
	off int64
}

func (p position) String() string { return strconv.FormatInt(p.off, 10) + " " + p.rel }

func parsePosition(s string) (*position, error) {
	if s == "" {
		return nil, nil
	}
	off, rel, ok := strings.Cut(s, " ")
	n, err := strconv.ParseInt(off, 10, 64)
	if !ok || err != nil || n < 0 || rel == "" {
		return nil, engram.Errorf(engram.EInvalid, "mail source: %q is not a position to resume from", s)
	}
	return &position{rel: rel, off: n}, nil
}

// past reports whether p comes after the position the run resumes from:
// what is at or before it was yielded or reported by an earlier run.
func (r *run) past(p position) bool {
	if r.from == nil {
		return true
	}
	if p.rel == r.from.rel {
		return p.off > r.from.off
	}
	return walk.After(p.rel, r.from.rel)
}

func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if info, err := os.Stat(filepath.Join(dir, sub)); err == nil && info.IsDir() {
			return true
		}
	}
	return false
}

// run is the state of one Items call.
type run struct {
	ctx   context.Context
	yield func(engram.SourceItem) error
	fail  func(engram.SourceFailure)
	// within confines every open (walk.Open).
	within string
	// seen maps a hash of each external id given out to a hash of its
	// message's text, to find duplicates in constant memory per message.
	seen map[[16]byte][16]byte
	// from is the position the run resumes after (nil: the start), and
	// quiet is set while the message read is at or before it.
	from  *position
	quiet bool
}

func (r *run) failed(ref, reason string) {
	if r.quiet {
		return
	}
	r.fail(engram.SourceFailure{Ref: sanitize.String(ref), Reason: sanitize.String(reason)})
}

// file reads one file of mail, opened by open: an mbox or a single
// message. dir is the relative directory it is in ("." at the root).
func (r *run) file(open func() (*os.File, error), rel, dir string) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	r.quiet = !r.past(position{rel: rel})
	f, err := open()
	if err != nil {
		r.failed(rel, err.Error())
		return nil
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	head, _ := br.Peek(5)
	isMbox := string(head) == "From " || strings.EqualFold(path.Ext(rel), ".mbox")
	if !isMbox {
		data, err := io.ReadAll(io.LimitReader(br, MaxMessageBytes+1))
		if err != nil {
			r.failed(rel, err.Error())
			return nil
		}
		msg := rawMessage{data: data, size: int64(len(data))}
		if len(data) > MaxMessageBytes {
			msg.data = nil
		}
		return r.message(msg, rel, folderOf(dir), position{rel: rel})
	}
	// An mbox is a folder of its own: Takeout's "Inbox.mbox" is "Inbox",
	// and so is Thunderbird's "Inbox" (no extension). Other names with a
	// dot ("x.eml", SpamAssassin's "00001.7c53…") are single messages saved
	// with their "From " line, in their directory's folder.
	folder := folderOf(dir)
	if base := path.Base(rel); strings.EqualFold(path.Ext(base), ".mbox") || !strings.Contains(base, ".") {
		folder = strings.TrimSuffix(rel, path.Ext(base))
	}
	mr := newMboxReader(br, MaxMessageBytes)
	for i := 1; ; i++ {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		msg, err := mr.Next()
		if err == io.EOF {
			return nil
		}
		at := msg.offset
		if err != nil {
			at = mr.off
		}
		r.quiet = !r.past(position{rel: rel, off: at})
		ref := rel
		if i > 1 || strings.EqualFold(path.Ext(rel), ".mbox") {
			ref = fmt.Sprintf("%s: message %d at byte %d", rel, i, msg.offset)
		}
		if err != nil {
			r.failed(ref, "unreadable: "+err.Error())
			return nil
		}
		if err := r.message(msg, ref, folder, position{rel: rel, off: msg.offset}); err != nil {
			return err
		}
	}
}

// folderOf names the mail folder of a relative directory: a Maildir's cur
// and new are its folder, the root is none.
func folderOf(dir string) string {
	if b := path.Base(dir); b == "cur" || b == "new" {
		dir = path.Dir(dir)
	}
	if dir == "." {
		return ""
	}
	return dir
}

// message parses one message at pos and yields it, or reports it; while
// the run is quiet it only notes the message's id.
func (r *run) message(raw rawMessage, ref, folder string, pos position) error {
	if raw.data == nil {
		r.failed(ref, fmt.Sprintf("message of %.1f MiB; messages over %d MiB are skipped", float64(raw.size)/(1<<20), MaxMessageBytes>>20))
		return nil
	}
	m, err := parseMessage(raw.data)
	if err != nil {
		r.failed(ref, err.Error())
		return nil
	}
	id, dup := r.externalID(m)
	if dup {
		r.failed(ref, fmt.Sprintf("duplicate of an earlier message with Message-ID %q and the same text; skipped", m.id))
		return nil
	}
	if folder != "" {
		m.meta["folder"] = folder
	}
	if r.quiet {
		return nil
	}
	if pos.off > 0 {
		m.meta["offset"] = pos.off
	}
	m.item.ExternalID = id
	m.item.SourceType = "mail"
	m.meta["path"] = pos.rel
	m.item.Metadata = sanitize.Metadata(m.meta)
	m.item.Cursor = pos.String()
	return r.yield(m.item)
}

// externalID gives m its id, or reports that an identical message had it
// already. See Source.
func (r *run) externalID(m *message) (id string, duplicate bool) {
	h := sha256.New()
	for _, s := range []string{m.dateRaw, m.fromRaw, m.item.Title, m.item.Content} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var text [16]byte
	copy(text[:], h.Sum(nil))
	id = m.id
	if id == "" {
		sum := sha256.Sum256(text[:])
		id = "sha256:" + hex.EncodeToString(sum[:])
	}
	for _, candidate := range []string{id, id + "#" + hex.EncodeToString(text[:6])} {
		key := sha256.Sum256([]byte(candidate))
		var k [16]byte
		copy(k[:], key[:])
		prev, taken := r.seen[k]
		if !taken {
			r.seen[k] = text
			return candidate, false
		}
		if prev == text {
			return "", true
		}
	}
	// Two different texts under both forms of the id: practically only a
	// 48-bit collision; keep the full hash.
	return id + "#" + hex.EncodeToString(text[:]), false
}
