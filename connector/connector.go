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
// connectors read files on the server, so their paths must lie under the
// tenant's own directory in one of Roots: for the tenant with slug acme,
// <root>/acme. A tenant admin can point a connector neither at /etc nor
// at another tenant's export. The tenant directory itself may be a link
// the operator made (to ~/notes, say); links below it must stay inside
// it. With no roots, only push connectors can be made.
type Registry struct {
	Roots []string
}

// Types lists the known connector types, sorted.
func Types() []string {
	out := []string{Folder, Mail, Push}
	sort.Strings(out)
	return out
}

// ValidateSettings checks the settings of a connector type for the tenant
// with the given slug and returns them normalised. Errors are
// invalid_argument naming the field.
func (r Registry) ValidateSettings(tenant, typ string, raw json.RawMessage) (json.RawMessage, error) {
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
		if _, err := r.allowed(tenant, s.Path); err != nil {
			return nil, err
		}
		return json.Marshal(s)
	case Mail:
		s, err := mail.ParseSettings(raw)
		if err != nil {
			return nil, err
		}
		if _, err := r.allowed(tenant, s.Path); err != nil {
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
func (r Registry) Open(tenant, typ string, settings json.RawMessage) (engram.Source, error) {
	if _, err := r.ValidateSettings(tenant, typ, settings); err != nil {
		return nil, err
	}
	switch typ {
	case Folder:
		s, err := folder.ParseSettings(settings)
		if err != nil {
			return nil, err
		}
		if s.Within, err = r.allowed(tenant, s.Path); err != nil {
			return nil, err
		}
		return folder.New(s), nil
	case Mail:
		s, err := mail.ParseSettings(settings)
		if err != nil {
			return nil, err
		}
		if s.Within, err = r.allowed(tenant, s.Path); err != nil {
			return nil, err
		}
		return mail.New(s), nil
	}
	return nil, nil
}

// allowed checks that path lies under the tenant's directory in one of
// the roots, after resolving symbolic links so a link cannot lead
// outside, and returns the real path of that directory.
func (r Registry) allowed(tenant, path string) (string, error) {
	if len(r.Roots) == 0 {
		return "", engram.Errorf(engram.EInvalid, "settings.path: this server reads no files for connectors; its operator must list allowed directories with --connector-roots")
	}
	if !engram.ValidSlug(tenant) {
		// A slug is one path component by construction; this guards the
		// join below against a caller passing something else.
		return "", engram.Errorf(engram.EInvalid, "settings.path: no directory for tenant %q", tenant)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", engram.Errorf(engram.EInvalid, "settings.path: %q cannot be resolved", path)
	}
	for _, root := range r.Roots {
		rr, err := filepath.EvalSymlinks(filepath.Join(root, tenant))
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(rr, real); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return rr, nil
		}
	}
	return "", engram.Errorf(engram.EInvalid, "settings.path: %q is not under this tenant's directory: connectors of tenant %q read only a directory named %q in one of the server's --connector-roots", path, tenant, tenant)
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
