// Package refjson encodes what the bench's raw-SQL floors hand their
// engine in one parameter: the JSON both engines unpack in SQL.
package refjson

import (
	"encoding/json"

	"github.com/engram-kb/engram"
)

// item is what the floor sync inserts of a document.
type item struct {
	ID          string `json:"id"`
	ExternalID  string `json:"external_id"`
	SourceType  string `json:"source_type"`
	Title       string `json:"title"`
	Content     string `json:"content"`
	ContentHash string `json:"content_hash"`
}

// Items encodes connector documents as the JSON array the floor sync
// reads in one statement (json_each on SQLite, json_to_recordset on
// PostgreSQL).
func Items(docs []engram.PreparedDocument) string {
	items := make([]item, len(docs))
	for i, d := range docs {
		items[i] = item{ID: d.ID, SourceType: d.SourceType, Title: d.Title, Content: d.Content, ContentHash: d.ContentHash}
		if d.ExternalID != nil {
			items[i].ExternalID = *d.ExternalID
		}
	}
	b, _ := json.Marshal(items)
	return string(b)
}

// IDs encodes ids as a JSON array, the one parameter SQLite's json_each
// reads a list from.
func IDs(ids []string) string {
	b, _ := json.Marshal(ids)
	return string(b)
}
