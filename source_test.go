package engram_test

import (
	"testing"

	"github.com/engram-kb/engram"
)

// TestPrepareSyncItemsSourceType: a connector's item keeps the source
// type its source gave it, and a pushed item without one is "api".
func TestPrepareSyncItemsSourceType(t *testing.T) {
	t.Parallel()
	p, _, err := engram.PrepareSyncItems("c", []engram.SourceItem{
		{ExternalID: "a", Title: "a", SourceType: "mail"},
		{ExternalID: "b", Title: "b"},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	if p[0].SourceType != "mail" || p[1].SourceType != "api" {
		t.Errorf("source types %q, %q", p[0].SourceType, p[1].SourceType)
	}
}
