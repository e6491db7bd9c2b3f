package rows

import (
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

func TestPlanDocumentListKeyset(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		sort      engram.DocumentSort
		desc      bool
		value     *string
		want      Keyset
		wantValue any
	}{
		{"ascending from a value", engram.SortCreatedAt, false, str(at.Format(time.RFC3339Nano)), KeysetAfter, at},
		{"ascending from a NULL", engram.SortConfidence, false, nil, KeysetAfterNull, nil},
		{"descending nullable", engram.SortConfidence, true, str("0.5"), KeysetBeforeOrNull, 0.5},
		{"descending not nullable", engram.SortTitle, true, str("b"), KeysetBefore, "b"},
		{"descending within the NULLs", engram.SortSourceCreatedAt, true, nil, KeysetBeforeNull, nil},
	}
	for _, c := range cases {
		p, err := PlanDocumentList(engram.DocumentFilter{Sort: c.sort, Desc: c.desc,
			Cursor: &engram.Cursor{Sort: c.sort, Desc: c.desc, Value: c.value, ID: "id-1"}})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if p.Keyset != c.want || p.CursorValue != c.wantValue || p.CursorID != "id-1" {
			t.Errorf("%s: got keyset %d value %v id %q, want %d %v id-1", c.name, p.Keyset, p.CursorValue, p.CursorID, c.want, c.wantValue)
		}
	}
	if p, _ := PlanDocumentList(engram.DocumentFilter{Sort: engram.SortTitle}); p.Keyset != KeysetNone {
		t.Errorf("no cursor: got keyset %d", p.Keyset)
	}
	if _, err := PlanDocumentList(engram.DocumentFilter{Sort: "content"}); engram.ErrorCode(err) != engram.EInvalid {
		t.Errorf("unknown sort: got %v, want invalid_argument", err)
	}
}

func TestDocumentCondsOrder(t *testing.T) {
	t.Parallel()
	st, src := engram.DocumentStatus("classified"), "slack"
	after := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	got := DocumentConds(engram.DocumentFilter{CreatedAfter: &after, SourceType: &src, Status: &st, NeedsReview: true})
	want := []DocumentCond{{TermStatus, "classified"}, {TermNeedsReview, nil}, {TermSourceType, "slack"}, {TermCreatedAfter, after}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("cond %d: got %v, want %v", i, got[i], want[i])
		}
	}
}
