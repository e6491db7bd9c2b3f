package engram

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ConnectorStatus is whether a connector syncs.
type ConnectorStatus string

// Connector statuses. A disconnected connector keeps its documents and
// tombstones but takes no more items.
const (
	ConnectorActive       ConnectorStatus = "active"
	ConnectorPaused       ConnectorStatus = "paused"
	ConnectorDisconnected ConnectorStatus = "disconnected"
	ConnectorError        ConnectorStatus = "error"
)

// Connector is a source of documents: a notes folder, a mail export, or a
// push endpoint an external tool posts to.
type Connector struct {
	ID               string          `json:"id"`
	Type             string          `json:"type"`
	Name             string          `json:"name"`
	Status           ConnectorStatus `json:"status"`
	Settings         json.RawMessage `json:"settings"`
	LastSyncAt       *time.Time      `json:"last_sync_at"`
	LastSyncStatus   *string         `json:"last_sync_status"`
	LastSyncError    *string         `json:"last_sync_error"`
	TotalItemsSynced int64           `json:"total_items_synced"`
	// SyncInterval is how often the connector is synced on schedule
	// ("1h", "15m"; see ParseSyncInterval), nil when it syncs only on
	// request. NextSyncAt is when the scheduler next starts a sync; it is
	// nil exactly when SyncInterval is.
	SyncInterval *string    `json:"sync_interval"`
	NextSyncAt   *time.Time `json:"next_sync_at"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// ConnectorPatch changes a connector. Nil fields stay as they are.
type ConnectorPatch struct {
	Name     *string
	Status   *ConnectorStatus
	Settings json.RawMessage // already validated for the connector's type
	// SyncInterval sets the sync schedule (validated with
	// ParseSyncInterval); a pointer to 0 removes it. A new schedule's
	// first sync is one interval from now, or at the scheduler's next
	// tick when the connector has never synced.
	SyncInterval *time.Duration
}

// Sync schedule limits. The scheduler looks for due connectors about once
// a minute, so a shorter interval would not be kept.
const (
	MinSyncInterval = time.Minute
	MaxSyncInterval = 30 * 24 * time.Hour
)

// ParseSyncInterval reads a sync_interval: a Go duration of whole seconds
// from MinSyncInterval to MaxSyncInterval, such as "15m", "1h" or "24h".
func ParseSyncInterval(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		return 0, Errorf(EInvalid, "sync_interval: %q is not a duration such as \"15m\", \"1h\" or \"24h\"", s)
	case d < MinSyncInterval || d > MaxSyncInterval:
		return 0, Errorf(EInvalid, "sync_interval: must be from %s to %s, got %s",
			FormatSyncInterval(MinSyncInterval), FormatSyncInterval(MaxSyncInterval), s)
	case d%time.Second != 0:
		return 0, Errorf(EInvalid, "sync_interval: must be whole seconds, got %s", s)
	}
	return d, nil
}

// FormatSyncInterval writes an interval the way a person would: "1h",
// "1h30m", "90s", "720h".
func FormatSyncInterval(d time.Duration) string {
	d = d.Truncate(time.Second)
	h, m, sec := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	var b strings.Builder
	if h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "h")
	}
	if m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "m")
	}
	if sec > 0 || b.Len() == 0 {
		b.WriteString(strconv.FormatInt(int64(sec), 10) + "s")
	}
	return b.String()
}

// SetSyncSchedule fills a connector's SyncInterval from the stored number
// of seconds (nil: no schedule).
func (c *Connector) SetSyncSchedule(seconds *int64) {
	c.SyncInterval = nil
	if seconds != nil {
		s := FormatSyncInterval(time.Duration(*seconds) * time.Second)
		c.SyncInterval = &s
	}
}

// MaxConnectorName is the longest connector name, in characters.
const MaxConnectorName = 200

// ValidateConnectorName checks a connector's name.
func ValidateConnectorName(name string) error {
	if strings.TrimSpace(name) == "" {
		return Errorf(EInvalid, "name: must not be empty")
	}
	if utf8.RuneCountInString(name) > MaxConnectorName || strings.ContainsRune(name, 0) {
		return Errorf(EInvalid, "name: at most %d characters, no NUL", MaxConnectorName)
	}
	return nil
}

// SyncCounts is what a sync did, item by item.
type SyncCounts struct {
	Created           int `json:"created"`
	Updated           int `json:"updated"`
	Unchanged         int `json:"unchanged"`
	SkippedDeleted    int `json:"skipped_deleted"`
	SkippedTombstoned int `json:"skipped_tombstoned"`
	Failed            int `json:"failed"`
	MissingAtSource   int `json:"missing_at_source"`
}

// Add adds o to c.
func (c *SyncCounts) Add(o SyncCounts) {
	c.Created += o.Created
	c.Updated += o.Updated
	c.Unchanged += o.Unchanged
	c.SkippedDeleted += o.SkippedDeleted
	c.SkippedTombstoned += o.SkippedTombstoned
	c.Failed += o.Failed
	c.MissingAtSource += o.MissingAtSource
}

// ConnectorStore keeps connectors and runs the sync pipeline.
type ConnectorStore interface {
	// CreateConnector adds a connector with validated settings and, when
	// syncInterval is not 0, a sync schedule whose first sync is due at
	// once.
	CreateConnector(ctx context.Context, tenantID, actorKeyID, typ, name string, settings json.RawMessage, syncInterval time.Duration) (Connector, error)
	// ListConnectors returns the tenant's connectors, oldest first.
	ListConnectors(ctx context.Context, tenantID string) ([]Connector, error)
	// GetConnector returns one connector. Returns not_found.
	GetConnector(ctx context.Context, tenantID, id string) (Connector, error)
	// UpdateConnector changes name, status or settings. Returns not_found.
	UpdateConnector(ctx context.Context, tenantID, actorKeyID, id string, p ConnectorPatch) (Connector, error)
	// SyncBatch runs one batch of a connector's items through the sync
	// pipeline in one transaction of a constant number of statements: it
	// reads what the connector holds under the items' external ids with
	// one statement, sorts the items into new, changed, unchanged,
	// soft-deleted and tombstoned, inserts the new ones, updates the
	// changed ones, and never brings back a deleted or tombstoned item. Of
	// items that repeat an external id the first is kept. With opt.Job the
	// job's progress commits with the batch. Returns invalid_argument (an
	// item without this connector's external id), not_found, or conflict
	// when the connector is disconnected.
	SyncBatch(ctx context.Context, tenantID, connectorID string, items []PreparedDocument, opt SyncOptions) (SyncCounts, error)
	// FinishFullSync ends a full sync: when archive is true the
	// connector's live documents that no batch of the run saw are set
	// archived (reversible), in one statement; the run's notes are dropped
	// either way. Returns the number archived.
	FinishFullSync(ctx context.Context, tenantID, connectorID, runID string, archive bool) (int, error)
}

// SyncOptions tune one batch.
type SyncOptions struct {
	// RunID, set during a full sync, records the batch's external ids
	// under the run so FinishFullSync can find what the source no longer
	// has.
	RunID string
	// Job, when set, is the sync job whose progress the batch records in
	// its own transaction, so the job never reports items that did not
	// commit nor misses ones that did.
	Job *SyncJobProgress
}

// SyncJobProgress names the job a batch advances and how.
type SyncJobProgress struct {
	JobID string
	// Record returns the job's progress and result once the batch's
	// counts are known. It runs inside the batch's transaction, so it
	// must only compute.
	Record func(SyncCounts) (JobProgress, json.RawMessage)
	// Cursor is the source position of the batch's last item (see
	// SourceItem.Cursor), recorded with the progress; "" keeps the one
	// recorded.
	Cursor string
}

// Sync limits.
const (
	MaxPushItems     = 5000
	MaxExternalIDLen = 1000
	DefaultSyncBatch = 500
)

// PrepareSyncItems validates a connector's items for SyncBatch. In strict
// mode (the push endpoint) the first bad item is an error naming it; else
// bad items become failures and are left out. Duplicate external ids keep
// the first item.
func PrepareSyncItems(connectorID string, items []SourceItem, strict bool) ([]PreparedDocument, []SourceFailure, error) {
	out := make([]PreparedDocument, 0, len(items))
	var failures []SourceFailure
	seen := make(map[string]int, len(items))
	for i, it := range items {
		f := "documents[" + strconv.Itoa(i) + "]."
		err := checkExternalID(f, it.ExternalID)
		if err == nil {
			if first, dup := seen[it.ExternalID]; dup {
				err = Errorf(EInvalid, "%sexternal_id: %q repeats documents[%d]", f, it.ExternalID, first)
			}
		}
		var p PreparedDocument
		if err == nil && !strict {
			// A source's impossible date (a mail's "Date: 1 Jan 0000")
			// must not cost the document: it is dropped and said so.
			for _, t := range []struct {
				name string
				v    **time.Time
			}{{"source_created_at", &it.SourceCreatedAt}, {"source_updated_at", &it.SourceUpdatedAt}} {
				if e := CheckTime(*t.v); e != nil {
					failures = append(failures, SourceFailure{Ref: it.ExternalID, Kept: true,
						Reason: t.name + ": " + e.Message + "; the date was left out and the item kept"})
					*t.v = nil
				}
			}
		}
		if err == nil {
			ext, conn := it.ExternalID, connectorID
			p, err = prepareDocument(f, NewDocument{
				Title: it.Title, Content: it.Content, SourceType: it.SourceType, SourceURL: it.SourceURL, Sender: it.Sender,
				SenderEmail: it.SenderEmail, Recipients: it.Recipients, SourceCreatedAt: it.SourceCreatedAt,
				SourceUpdatedAt: it.SourceUpdatedAt, Metadata: it.Metadata, ConnectorID: &conn, ExternalID: &ext,
			})
		}
		if err != nil {
			if strict {
				return nil, nil, err
			}
			failures = append(failures, SourceFailure{Ref: it.ExternalID, Reason: ErrorMessage(err)})
			continue
		}
		seen[it.ExternalID] = i
		out = append(out, p)
	}
	return out, failures, nil
}

func checkExternalID(f, id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return Errorf(EInvalid, "%sexternal_id: must not be empty", f)
	case len(id) > MaxExternalIDLen:
		return Errorf(EInvalid, "%sexternal_id: at most %d bytes", f, MaxExternalIDLen)
	case strings.ContainsRune(id, 0) || !utf8.ValidString(id):
		return Errorf(EInvalid, "%sexternal_id: must be valid UTF-8 without NUL characters", f)
	}
	return nil
}
