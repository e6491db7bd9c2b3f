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

// DocumentsJSON returns the documents and their chunks as two JSON arrays,
// and the number of chunks.
func DocumentsJSON(docs []engram.PreparedDocument) (docsJSON, chunksJSON []byte, chunks int, err error) {
	if docsJSON, err = DocumentRowsJSON(docs); err != nil {
		return nil, nil, 0, err
	}
	chunksJSON, chunks, err = ChunksJSON(docs)
	return docsJSON, chunksJSON, chunks, err
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

// SyncSteps are one engine's statements of a sync batch, run inside its
// transaction. ApplySync calls them in order; each is one statement.
type SyncSteps struct {
	// Sort finds each item's document and tombstone (keys from
	// engram.SyncKeys; n items).
	Sort func(keys string, n int) ([]engram.ExistingItem, error)
	// MarkSeen notes the keys under a full sync's run.
	MarkSeen func(keys string) error
	// InsertDocuments writes new document rows.
	InsertDocuments func(docsJSON []byte) error
	// UpdateChanged rewrites changed documents (and drops their chunks)
	// and returns how many it rewrote.
	UpdateChanged func(changed []engram.PreparedDocument) (int, error)
	// InsertChunks writes the chunks of new and changed documents.
	InsertChunks func(chunksJSON []byte) error
	// Progress adds n to the connector's synced total.
	Progress func(n int) error
}

// ApplySync runs a sync batch through an engine's steps: sort, note what
// was seen (full syncs), insert the new, rewrite the changed, write their
// chunks, advance the connector. The plan is engram.PlanSync's; the SQL is
// the engine's.
func ApplySync(items []engram.PreparedDocument, markSeen bool, st SyncSteps) (engram.SyncCounts, error) {
	keys := engram.SyncKeys(items)
	existing, err := st.Sort(keys, len(items))
	if err != nil {
		return engram.SyncCounts{}, err
	}
	if markSeen {
		if err := st.MarkSeen(keys); err != nil {
			return engram.SyncCounts{}, err
		}
	}
	plan := engram.PlanSync(items, existing)
	counts := plan.Counts
	if len(plan.New) > 0 {
		docsJSON, _, _, err := DocumentsJSON(plan.New)
		if err != nil {
			return counts, err
		}
		if err := st.InsertDocuments(docsJSON); err != nil {
			return counts, err
		}
		counts.Created = len(plan.New)
	}
	if len(plan.Changed) > 0 {
		if counts.Updated, err = st.UpdateChanged(plan.Changed); err != nil {
			return counts, err
		}
	}
	chunksJSON, n, err := ChunksJSON(append(plan.New, plan.Changed...))
	if err != nil {
		return counts, err
	}
	if n > 0 {
		if err := st.InsertChunks(chunksJSON); err != nil {
			return counts, err
		}
	}
	return counts, st.Progress(counts.Created + counts.Updated)
}
