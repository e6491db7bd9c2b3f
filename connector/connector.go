// Package connector knows engram's connector types: it validates each
// type's settings and opens its source. The sources themselves live in
// sub-packages (connector/folder, connector/mail); push connectors have no
// source, an external tool posts their items.
package connector

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/engram-kb/engram"
)

// Push is the type of connectors whose items are posted to engram.
const Push = "push"

// kind is one connector type.
type kind struct {
	// validate checks raw settings and returns them normalised.
	validate func(raw json.RawMessage) (json.RawMessage, error)
	// open returns the type's source, nil for push.
	open func(settings json.RawMessage) (engram.Source, error)
}

var kinds = map[string]kind{
	Push: {validate: validatePush},
}

// Types lists the known connector types, sorted.
func Types() []string {
	out := make([]string, 0, len(kinds))
	for t := range kinds {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// ValidateSettings checks settings for a connector type and returns them
// normalised. Errors are invalid_argument naming the field.
func ValidateSettings(typ string, raw json.RawMessage) (json.RawMessage, error) {
	k, ok := kinds[typ]
	if !ok {
		return nil, engram.Errorf(engram.EInvalid, "type: %q is not a connector type; one of %s", typ, strings.Join(Types(), ", "))
	}
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		raw = json.RawMessage(`{}`)
	}
	return k.validate(raw)
}

// Open returns the source of a connector, or nil for push connectors.
func Open(typ string, settings json.RawMessage) (engram.Source, error) {
	k, ok := kinds[typ]
	if !ok {
		return nil, engram.Errorf(engram.EInvalid, "type: %q is not a connector type", typ)
	}
	if k.open == nil {
		return nil, nil
	}
	return k.open(settings)
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
