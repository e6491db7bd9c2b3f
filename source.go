package engram

import (
	"context"
	"encoding/json"
	"time"
)

// SourceItem is one item a connector's source yields: a document as the
// source knows it, keyed by an external id that is stable across syncs.
type SourceItem struct {
	ExternalID      string
	Title           string
	Content         string
	SourceURL       string
	Sender          string
	SenderEmail     string
	Recipients      []string
	SourceCreatedAt *time.Time
	SourceUpdatedAt *time.Time
	Metadata        json.RawMessage
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
