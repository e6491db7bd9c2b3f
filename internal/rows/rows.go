// Package rows holds the row mapping both storage engines share: how a
// batch of prepared documents is serialised into the one JSON parameter
// that each engine's insert statement expands (json_each on SQLite,
// json_to_recordset on PostgreSQL), and the fixed-width time format both
// accept. It holds no SQL.
package rows

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/engram-kb/engram"
)

// TimeFormat is the fixed-width UTC form timestamps travel in. SQLite
// stores it as is (text order is time order); PostgreSQL parses it.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// FormatTime formats t in TimeFormat.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// FormatTimePtr formats t, or returns nil for a nil time.
func FormatTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := FormatTime(*t)
	return &s
}

// DocumentRow is one document as the insert statements read it.
type DocumentRow struct {
	ID              string  `json:"id"`
	ConnectorID     *string `json:"connector_id"`
	ExternalID      *string `json:"external_id"`
	SourceType      string  `json:"source_type"`
	SourceURL       string  `json:"source_url"`
	Title           string  `json:"title"`
	Content         string  `json:"content"`
	ContentHash     string  `json:"content_hash"`
	Metadata        string  `json:"metadata"`
	Sender          string  `json:"sender"`
	SenderEmail     string  `json:"sender_email"`
	Recipients      string  `json:"recipients"`
	SourceCreatedAt *string `json:"source_created_at"`
	SourceUpdatedAt *string `json:"source_updated_at"`
	ChunkCount      int     `json:"chunk_count"`
}

// ChunkRow is one chunk as the insert statements read it.
type ChunkRow struct {
	DocumentID string `json:"document_id"`
	Index      int    `json:"chunk_index"`
	Content    string `json:"content"`
	TokenCount int    `json:"token_count"`
}

// DocumentRowsJSON returns the documents (without their chunks) as one
// JSON array.
func DocumentRowsJSON(docs []engram.PreparedDocument) ([]byte, error) {
	dr := make([]DocumentRow, len(docs))
	for i, d := range docs {
		dr[i] = DocumentRow{
			ID: d.ID, ConnectorID: d.ConnectorID, ExternalID: d.ExternalID,
			SourceType: d.SourceType, SourceURL: d.SourceURL, Title: d.Title, Content: d.Content,
			ContentHash: d.ContentHash, Metadata: d.MetadataJSON, Sender: d.Sender,
			SenderEmail: d.SenderEmail, Recipients: d.RecipientsJSON,
			SourceCreatedAt: FormatTimePtr(d.SourceCreatedAt), SourceUpdatedAt: FormatTimePtr(d.SourceUpdatedAt),
			ChunkCount: len(d.Chunks),
		}
	}
	return json.Marshal(dr)
}

// IDsJSON returns ids as a JSON array, the form SQLite's json_each reads.
func IDsJSON(ids []string) string {
	b, _ := json.Marshal(ids)
	return string(b)
}

// NotFound returns the ids of want that are not in found, in want's order.
func NotFound(want []string, found map[string]bool) []string {
	out := []string{}
	for _, id := range want {
		if !found[id] {
			out = append(out, id)
		}
	}
	return out
}

// SortedKeys returns the keys of a set in ascending order.
func SortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ChunksJSON returns the chunks of docs as one JSON array, and their number.
func ChunksJSON(docs []engram.PreparedDocument) ([]byte, int, error) {
	var cr []ChunkRow
	for _, d := range docs {
		for _, c := range d.Chunks {
			cr = append(cr, ChunkRow{DocumentID: d.ID, Index: c.Index, Content: c.Content, TokenCount: c.TokenCount})
		}
	}
	b, err := json.Marshal(cr)
	return b, len(cr), err
}
