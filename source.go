package engram

import (
	"context"
	"encoding/json"
	"time"
)

// SourceItem is one item a connector's source yields: a document as the
// source knows it, keyed by an external id that is stable across syncs.
type SourceItem struct {
	ExternalID string
	// SourceType names the kind of source ("mail", "folder"); empty is
	// "api", a pushed document.
	SourceType      string
	Title           string
	Content         string
	SourceURL       string
	Sender          string
	SenderEmail     string
	Recipients      []string
	SourceCreatedAt *time.Time
	SourceUpdatedAt *time.Time
	Metadata        json.RawMessage
	// Cursor is the item's position in the source, for a source that can
	// resume (Resumer): ItemsFrom(cursor) yields what follows the item.
	Cursor string
}

// SourceFailure is an item a source could not read. A sync skips it and
// reports it; it never aborts the sync.
type SourceFailure struct {
	// Ref says where the item is (a file path, "mbox offset 1234", …).
	Ref string `json:"ref"`
	// Reason says what was wrong with it, for the user.
	Reason string `json:"reason"`
	// Kept says the item was stored all the same, without the part named
	// in Reason (an impossible date, say): a warning, not a failure.
	Kept bool `json:"kept,omitempty"`
}

// Source reads a connector's items. Implementations stream: they hand items
// to yield one at a time and never hold the whole source in memory. When
// yield returns an error, Items stops and returns that error. Items it
// cannot read are reported through fail and skipped.
type Source interface {
	Items(ctx context.Context, yield func(SourceItem) error, fail func(SourceFailure)) error
}

// Resumer is a Source that can start in the middle: ItemsFrom yields, and
// reports the failures of, only what follows cursor (an item's Cursor;
// "" is the start) in the order Items reads them. A sync records the
// cursor of its last committed batch, so one that stopped (a killed
// process, a paused slice) reads on from there rather than from the
// start. Resuming saves time only: a sync is idempotent.
type Resumer interface {
	Source
	ItemsFrom(ctx context.Context, cursor string, yield func(SourceItem) error, fail func(SourceFailure)) error
}
