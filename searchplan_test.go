package engram

import (
	"reflect"
	"testing"
)

func TestPlanSearchMatch(t *testing.T) {
	w := func(words ...string) SearchTerm { return SearchTerm(words) }
	q := SearchQuery{
		All: [][]SearchTerm{{w("common")}, {w("rare")}, {w("middle"), w("other")}, {w("rare", "common")}},
		Not: []SearchTerm{w("never")},
	}
	counts := map[string]int{"common": 5000, "rare": 10, "middle": 300, "other": 200}
	cases := []struct {
		name   string
		budget int
		want   [][]SearchTerm
	}{
		// The phrase costs its rarest word (10), the alternatives their
		// sum (500): rare 10 + phrase 10 + 500 = 520 fit in 600.
		{"budget 600", 600, [][]SearchTerm{{w("rare")}, {w("middle"), w("other")}, {w("rare", "common")}}},
		{"budget 100", 100, [][]SearchTerm{{w("rare")}, {w("rare", "common")}}},
		{"budget 10: the rarest and what keeps the floor", 10, [][]SearchTerm{{w("rare")}}},
		{"everything fits", 10000, q.All},
	}
	for _, c := range cases {
		got := PlanSearchMatch(q, counts, c.budget)
		if !reflect.DeepEqual(got.All, c.want) || !reflect.DeepEqual(got.Not, q.Not) {
			t.Errorf("%s: %v not %v, want %v", c.name, got.All, got.Not, c.want)
		}
	}
	// A misspelt word (no chunk) does not leave the query without
	// candidates: the next clause is taken below the floor.
	miss := SearchQuery{All: [][]SearchTerm{{w("common")}, {w("mispelt")}}}
	if got := PlanSearchMatch(miss, counts, 2000); len(got.All) != 2 {
		t.Errorf("misspelt: %v, want both clauses", got.All)
	}
	one := SearchQuery{All: [][]SearchTerm{{w("common")}}}
	if got := PlanSearchMatch(one, counts, 1); !reflect.DeepEqual(got, one) {
		t.Errorf("one clause: %v", got)
	}
}
