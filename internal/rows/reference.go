package rows

import (
	"encoding/json"

	"github.com/engram-kb/engram"
)

// referenceItem is what the benchmark's floor sync inserts of a document.
type referenceItem struct {
	ID          string `json:"id"`
	ExternalID  string `json:"external_id"`
	SourceType  string `json:"source_type"`
	Title       string `json:"title"`
	Content     string `json:"content"`
	ContentHash string `json:"content_hash"`
}

// ReferenceItemsJSON encodes connector documents as the JSON array the
// engines' Reference.FloorSync reads in one statement.
func ReferenceItemsJSON(docs []engram.PreparedDocument) string {
	items := make([]referenceItem, len(docs))
	for i, d := range docs {
		items[i] = referenceItem{ID: d.ID, SourceType: d.SourceType, Title: d.Title, Content: d.Content, ContentHash: d.ContentHash}
		if d.ExternalID != nil {
			items[i].ExternalID = *d.ExternalID
		}
	}
	b, _ := json.Marshal(items)
	return string(b)
}
