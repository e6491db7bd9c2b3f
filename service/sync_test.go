package service

import (
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

func TestPlanSync(t *testing.T) {
	t.Parallel()
	conn := engram.NewID()
	then := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	later := then.Add(time.Hour)
	items, _, err := engram.PrepareSyncItems(conn, []engram.SourceItem{
		{ExternalID: "new", Title: "t", Content: "a"},
		{ExternalID: "same", Title: "t", Content: "a", SourceUpdatedAt: &then},
		{ExternalID: "edited", Title: "t", Content: "b"},
		{ExternalID: "renamed", Title: "t2", Content: "a"},
		{ExternalID: "touched", Title: "t", Content: "a", SourceUpdatedAt: &later},
		{ExternalID: "retyped", Title: "t", Content: "a", SourceType: "mail"},
		{ExternalID: "deleted", Title: "t", Content: "b"},
		{ExternalID: "tombstoned", Title: "t", Content: "a"},
		{ExternalID: "deleted-and-tombstoned", Title: "t", Content: "a"},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	// A repeat of an id already in the batch, as a direct caller might send.
	items = append(items, items[0])
	hash := items[1].ContentHash
	held := []engram.SyncExisting{
		{ExternalID: "same", DocumentID: "d-same", ContentHash: hash, Title: "t", SourceType: "api", SourceUpdatedAt: &then},
		{ExternalID: "edited", DocumentID: "d-edited", ContentHash: hash, Title: "t", SourceType: "api"},
		{ExternalID: "renamed", DocumentID: "d-renamed", ContentHash: hash, Title: "t", SourceType: "api"},
		{ExternalID: "touched", DocumentID: "d-touched", ContentHash: hash, Title: "t", SourceType: "api", SourceUpdatedAt: &then},
		// Stored as api before its connector named its type.
		{ExternalID: "retyped", DocumentID: "d-retyped", ContentHash: hash, Title: "t", SourceType: "api"},
		{ExternalID: "deleted", DocumentID: "d-deleted", ContentHash: hash, Title: "t", IsDeleted: true},
		{ExternalID: "tombstoned", Tombstoned: true},
		{ExternalID: "deleted-and-tombstoned", DocumentID: "d-both", ContentHash: hash, Title: "t", IsDeleted: true, Tombstoned: true},
	}
	p := planSync(items, held)
	if len(p.created) != 1 || *p.created[0].ExternalID != "new" || p.created[0].ID != items[0].ID {
		t.Errorf("created = %+v, want the new item once, with its own id", p.created)
	}
	var changed []string
	for _, d := range p.changed {
		changed = append(changed, *d.ExternalID+"="+d.ID)
	}
	want := []string{"edited=d-edited", "renamed=d-renamed", "touched=d-touched", "retyped=d-retyped"}
	if len(changed) != len(want) {
		t.Fatalf("changed = %v, want %v", changed, want)
	}
	for i := range want {
		if changed[i] != want[i] {
			t.Errorf("changed = %v, want %v (the existing documents' ids)", changed, want)
		}
	}
	if c := (engram.SyncCounts{Unchanged: 2, SkippedDeleted: 1, SkippedTombstoned: 2}); p.counts != c {
		t.Errorf("counts = %+v, want %+v", p.counts, c)
	}
	if keys := externalIDs(items); len(keys) != len(items)-1 || keys[0] != "new" {
		t.Errorf("external ids = %v, want each once in order", keys)
	}
}
