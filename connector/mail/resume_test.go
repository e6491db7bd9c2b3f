package mail

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
)

// TestItemsFromEveryCursor: resumed after any item, ItemsFrom yields and
// reports exactly what the whole run yields and reports after it, with
// the same ids: a repeated Message-ID before the resume point still gives
// the later message its "#" id, and a duplicate is still a duplicate.
func TestItemsFromEveryCursor(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mbox := "From a@example.com Tue Oct  1 10:00:00 2002\n" + msg("m1@x", "one", "first\n") +
		"\nFrom a@example.com Tue Oct  1 10:00:00 2002\n" + msg("rep@x", "two", "second\n") +
		"\nFrom a@example.com Tue Oct  1 10:00:00 2002\n" + msg("m3@x", "three", "third\n")
	write(t, root, map[string]string{
		"Archive/cur/0001": msg("rep@x", "other text", "not the same\n"),
		"Archive/cur/0002": msg("m1@x", "one", "first\n"), // a duplicate of the mbox's first
		"Archive/cur/0003": msg("m4@x", "four", "fourth\n"),
		"Archive/new/0001": msg("", "no id", "hashed\n"),
		"Inbox.mbox":       mbox,
		"z.eml":            msg("m5@x", "five", "fifth\n"),
	})
	s := New(Settings{Path: root})
	events := func(cursor string) (out []string, cursors []string) {
		err := s.ItemsFrom(context.Background(), cursor, func(it engram.SourceItem) error {
			out = append(out, "item "+it.ExternalID)
			cursors = append(cursors, it.Cursor)
			return nil
		}, func(f engram.SourceFailure) {
			out = append(out, "fail "+f.Ref)
			cursors = append(cursors, "")
		})
		if err != nil {
			t.Fatal(err)
		}
		return out, cursors
	}
	all, cursors := events("")
	if n := strings.Count(fmt.Sprint(all), "item "); n != 7 || !slices.ContainsFunc(all, func(e string) bool { return strings.HasPrefix(e, "fail ") }) {
		t.Fatalf("whole run = %v; want 7 items and the duplicate", all)
	}
	if !slices.ContainsFunc(all, func(e string) bool { return strings.HasPrefix(e, "item rep@x#") }) {
		t.Fatalf("whole run = %v; want a '#' id for the repeated Message-ID", all)
	}
	for i, c := range cursors {
		if c == "" {
			continue
		}
		if got, _ := events(c); !slices.Equal(got, all[i+1:]) {
			t.Errorf("from %q: %v, want %v", c, got, all[i+1:])
		}
	}
	if err := s.ItemsFrom(context.Background(), "x", func(engram.SourceItem) error { return nil }, func(engram.SourceFailure) {}); engram.ErrorCode(err) != engram.EInvalid {
		t.Errorf("a cursor that is no position: %v, want invalid_argument", err)
	}
}
