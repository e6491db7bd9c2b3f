package engram

import "sort"

// SearchMatchBudget is how many chunks of a tenant the clauses that find
// a search's candidates may hold between them (by the tenant's counts of
// chunks per word). A query's clauses are taken rarest first while they
// fit; the rest (words most of the tenant's chunks hold, which weigh
// little in BM25) still score the candidates but do not find them, so a
// query of common words costs about the same at 1,000 chunks and at
// 1,000,000. This is the idea of MaxScore-style pruning, without its
// guarantee: a chunk that holds only common words, none of the rare ones,
// is not a candidate.
const SearchMatchBudget = 2000

// searchMatchFloor is the share of the budget the finding clauses hold at
// least when the query's clauses hold that many (at least one chunk): a
// rare clause that no chunk holds (a misspelt word) does not leave a
// query of common words without candidates.
const searchMatchFloor = 20

// PlanSearchMatch returns the query whose clauses find the candidates of
// q: its clauses ordered by how many chunks hold them (a phrase: its
// rarest word; a clause of alternatives: the sum of theirs), taken while
// their total stays within budget, and while it is below a twentieth of
// the budget (at least 1) whatever they cost. q's excluded
// terms are kept. chunks holds the counts SearchExecutor.SearchWordChunks read; a word
// it lacks is held by none.
func PlanSearchMatch(q SearchQuery, chunks map[string]int, budget int) SearchQuery {
	if len(q.All) < 2 {
		return q
	}
	cost := make([]int, len(q.All))
	for i, c := range q.All {
		for _, t := range c {
			least := -1
			for _, w := range t {
				if n := chunks[w]; least < 0 || n < least {
					least = n
				}
			}
			cost[i] += max(least, 0)
		}
	}
	order := make([]int, len(q.All))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return cost[order[a]] < cost[order[b]] })
	floor := max(budget/searchMatchFloor, 1)
	total, keep := 0, map[int]bool{}
	for n, i := range order {
		if n > 0 && total >= floor && total+cost[i] > budget {
			break
		}
		total += cost[i]
		keep[i] = true
	}
	if len(keep) == len(q.All) {
		return q
	}
	out := SearchQuery{Not: q.Not}
	for i, c := range q.All {
		if keep[i] {
			out.All = append(out.All, c)
		}
	}
	return out
}
