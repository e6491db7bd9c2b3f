// Package connector knows engram's connector types: it validates each
// type's settings and opens its source. The sources themselves live in
// sub-packages (connector/folder, connector/mail); push connectors have no
// source, an external tool posts their items.
package connector

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector/folder"
	"github.com/engram-kb/engram/connector/mail"
)

// Connector types.
const (
	Push   = "push"
	Folder = "folder"
	Mail   = "mail"
)

// Registry validates settings and opens sources. Folder and mail
// connectors read files on the server, so their paths must lie under one
// of Roots: a tenant admin must not be able to read /etc or another
// tenant's export. With no roots, only push connectors can be made.
type Registry struct {
	Roots []string
}

// Types lists the known connector types, sorted.
func Types() []string {
	out := []string{Folder, Mail, Push}
	sort.Strings(out)
	return out
}

// ValidateSettings checks settings for a connector type and returns them
// normalised. Errors are invalid_argument naming the field.
func (r Registry) ValidateSettings(typ string, raw json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		raw = json.RawMessage(`{}`)
	}
	switch typ {
	case Push:
		return validatePush(raw)
	case Folder:
		s, err := folder.ParseSettings(raw)
		if err != nil {
			return nil, err
		}
		if _, err := r.allowed(s.Path); err != nil {
			return nil, err
		}
		return json.Marshal(s)
	case Mail:
		s, err := mail.ParseSettings(raw)
		if err != nil {
			return nil, err
		}
		if _, err := r.allowed(s.Path); err != nil {
			return nil, err
		}
		return json.Marshal(s)
	}
	return nil, engram.Errorf(engram.EInvalid, "type: %q is not a connector type; one of %s", typ, strings.Join(Types(), ", "))
}

// Open returns the source of a connector, or nil for push connectors. The
// settings are checked again: the files may have moved since. The source
// reads only inside the allowed root that holds its path: a symbolic link
// leading out of it is a failed item (see connector/internal/walk).
func (r Registry) Open(typ string, settings json.RawMessage) (engram.Source, error) {
	if _, err := r.ValidateSettings(typ, settings); err != nil {
		return nil, err
	}
	switch typ {
	case Folder:
		s, err := folder.ParseSettings(settings)
		if err != nil {
			return nil, err
		}
		if s.Within, err = r.allowed(s.Path); err != nil {
			return nil, err
		}
		return folder.New(s), nil
	case Mail:
		s, err := mail.ParseSettings(settings)
		if err != nil {
			return nil, err
		}
		if s.Within, err = r.allowed(s.Path); err != nil {
			return nil, err
		}
		return mail.New(s), nil
	}
	return nil, nil
}

// allowed checks that path lies under one of the roots, after resolving
// symbolic links so a link cannot lead outside, and returns the real path
// of that root.
func (r Registry) allowed(path string) (string, error) {
	if len(r.Roots) == 0 {
		return "", engram.Errorf(engram.EInvalid, "settings.path: this server reads no files for connectors; its operator must list allowed directories with --connector-roots")
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", engram.Errorf(engram.EInvalid, "settings.path: %q cannot be resolved", path)
	}
	for _, root := range r.Roots {
		rr, err := filepath.EvalSymlinks(root)
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(rr, real); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return rr, nil
		}
	}
	return "", engram.Errorf(engram.EInvalid, "settings.path: %q is not under a directory this server allows (--connector-roots)", path)
}

// validatePush accepts only an empty object: a push connector has no
// options, and its settings must never hold secrets.
func validatePush(raw json.RawMessage) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, engram.Errorf(engram.EInvalid, "settings: must be a JSON object")
	}
	for k := range m {
		return nil, engram.Errorf(engram.EInvalid, "settings.%s: unknown option; push connectors take no settings", k)
	}
	return json.RawMessage(`{}`), nil
}
