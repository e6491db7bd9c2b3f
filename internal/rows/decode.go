package rows

import (
	"encoding/json"
	"fmt"
)

// The decoders below read the JSON columns the engines store. The
// columns are written only from validated values, so one that does not
// decode is damage: it is reported (an internal error), never read as an
// empty value that a later write would store back.

// DecodeSettings decodes a tenant's settings object.
func DecodeSettings(b []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("stored settings are not a JSON object: %w", err)
	}
	return m, nil
}

// DecodeRecipients decodes a document's recipients array.
func DecodeRecipients(docID string, b []byte) ([]string, error) {
	var r []string
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("document %s: stored recipients are not a JSON array of strings: %w", docID, err)
	}
	return r, nil
}
