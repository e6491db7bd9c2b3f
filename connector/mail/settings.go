// Package mail is the connector source for e-mail kept in files: a Maildir
// (cur/ and new/), a directory of messages (.eml or any other name), or an
// mbox file such as a Gmail Takeout export.
//
// How files are read:
//   - settings.path may name a file or a directory. A directory is walked
//     in sorted order, dot entries skipped; every regular file in it is
//     mail, whatever its name, except files in a Maildir's tmp/ (messages
//     still being delivered).
//   - A file whose first line is an mbox "From " line, or whose name ends in
//     .mbox, is an mbox: it is cut at "From <sender> <date>" lines and may
//     hold any number of messages (a raw message saved with its envelope
//     line, as in the SpamAssassin corpus, is an mbox of one). Any other
//     file is one message.
//   - A message over MaxMessageBytes, one whose header cannot be parsed,
//     one without any e-mail header, and one whose text is over
//     engram.MaxContentBytes are reported through fail and skipped.
//
// Each message becomes one item; see Source for its fields.
package mail

import (
	"encoding/json"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector/internal/setting"
)

// MaxMessageBytes bounds one raw message, attachments included.
const MaxMessageBytes = 25 << 20

// Settings configure a mail source.
type Settings struct {
	// Path is the absolute path of a Maildir, a directory of messages or
	// an mbox file.
	Path string `json:"path"`
	// Within is the real path of the directory the server allows this
	// connector to read (set by connector.Registry, never from JSON): a
	// symbolic link leading out of it is a failed item, not a document.
	Within string `json:"-"`
}

// ParseSettings decodes and validates mail settings. Unknown keys are
// rejected. Errors are *engram.Error with code EInvalid and name the field,
// e.g. `settings.path: "/nope" does not exist`.
func ParseSettings(raw json.RawMessage) (Settings, error) {
	m, err := setting.Fields(raw, "path")
	if err != nil {
		return Settings{}, err
	}
	var s Settings
	if s.Path, err = setting.String(m, "path"); err != nil {
		return Settings{}, err
	}
	if s.Path, err = s.check(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// check validates s and returns the cleaned path. It also runs at the start
// of each sync, since the path can go away after the settings were saved.
func (s Settings) check() (string, error) {
	p, info, err := setting.Path(s.Path)
	if err != nil {
		return "", err
	}
	if !info.IsDir() && !info.Mode().IsRegular() {
		return "", engram.Errorf(engram.EInvalid, "settings.path: must be a directory or an mbox file")
	}
	return p, nil
}
