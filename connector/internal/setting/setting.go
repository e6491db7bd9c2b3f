// Package setting decodes connector settings strictly, with errors that name
// the offending field ("settings.path: …") so the user can fix it.
package setting

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/engram-kb/engram"
)

// Fields splits raw, which must be a JSON object, into its fields. A key not
// in known is an error, as is a missing or null object.
func Fields(raw json.RawMessage, known ...string) (map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, engram.Errorf(engram.EInvalid, "settings: required")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, engram.Errorf(engram.EInvalid, "settings: must be a JSON object")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same input always names the same field
	for _, k := range keys {
		if !slices.Contains(known, k) {
			return nil, engram.Errorf(engram.EInvalid, "settings.%s: unknown option", k)
		}
	}
	return m, nil
}

// String decodes field name of m; absent or null gives "".
func String(m map[string]json.RawMessage, name string) (string, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", engram.Errorf(engram.EInvalid, "settings.%s: must be a string", name)
	}
	return s, nil
}

// Bool decodes field name of m; absent or null gives false.
func Bool(m map[string]json.RawMessage, name string) (bool, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, engram.Errorf(engram.EInvalid, "settings.%s: must be true or false", name)
	}
	return b, nil
}

// Strings decodes field name of m as a list of strings; absent or null
// gives nil, so that the caller can fill a default.
func Strings(m map[string]json.RawMessage, name string) ([]string, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, engram.Errorf(engram.EInvalid, "settings.%s: must be a list of strings", name)
	}
	out := make([]string, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it, &out[i]); err != nil {
			return nil, engram.Errorf(engram.EInvalid, "settings.%s[%d]: must be a string", name, i)
		}
	}
	return out, nil
}

// Path checks that p is an absolute path to something that exists and
// returns it cleaned, with what it names. The error names settings.path.
func Path(p string) (string, fs.FileInfo, error) {
	if p == "" {
		return "", nil, engram.Errorf(engram.EInvalid, "settings.path: required")
	}
	if !filepath.IsAbs(p) {
		// A relative path would depend on the server's working directory.
		return "", nil, engram.Errorf(engram.EInvalid, "settings.path: %s must be an absolute path", strconv.Quote(p))
	}
	p = filepath.Clean(p)
	info, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil, engram.Errorf(engram.EInvalid, "settings.path: %s does not exist", strconv.Quote(p))
	case errors.Is(err, fs.ErrPermission):
		return "", nil, engram.Errorf(engram.EInvalid, "settings.path: %s cannot be read: permission denied", strconv.Quote(p))
	case err != nil:
		return "", nil, engram.Errorf(engram.EInvalid, "settings.path: %s cannot be read", strconv.Quote(p))
	}
	return p, info, nil
}
