package service

import (
	"context"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/textsearch"
)

// DefaultTitleWeight is how much a word of a document's title counts
// against one of its text in lexical ranking (docs/SEARCH.md has its
// measured effect).
const DefaultTitleWeight = 2.0

// reindexBatch is how many documents one reindex transaction takes.
const reindexBatch = 500

// Search parses the query and runs it. Lexical: one statement (the
// ranking) for a query with something to match, none for one whose words
// are all excluded or punctuation. Vector: the query embedded (at most
// QueryEmbedTimeout) and two statements (the tenant's vectors scanned,
// the best chunks read); hybrid: the lexical statement besides, the two
// rankings fused (see hybrid.go). A hybrid search whose query the
// provider cannot embed answers lexically, with page.Mode lexical. Each
// document appears once, with its best chunk, unless in.Chunks. The mode
// defaults to hybrid when an embedder is set, lexical otherwise. Returns
// invalid_argument for an empty query, a limit outside 1–100, a cursor of
// another query, or a mode that needs an embedder when none is set, and
// unavailable when a vector search's query cannot be embedded.
func (s *Store) Search(ctx context.Context, tenantID string, in engram.SearchInput) (engram.SearchPage, error) {
	page := engram.SearchPage{Mode: in.Mode}
	if isBlank(in.Query) {
		return page, engram.Errorf(engram.EInvalid, "q: must not be empty")
	}
	switch in.Mode {
	case "":
		page.Mode = engram.SearchLexical
		if s.embedder != nil {
			page.Mode = engram.SearchHybrid
		}
	case engram.SearchLexical:
	case engram.SearchVector, engram.SearchHybrid:
		if s.embedder == nil {
			return page, engram.Errorf(engram.EInvalid, "mode: %q needs an embedding model, and none is configured; use lexical", in.Mode)
		}
	default:
		return page, engram.Errorf(engram.EInvalid, "mode: %q is not one of lexical, vector, hybrid", in.Mode)
	}
	if in.Limit == 0 {
		in.Limit = engram.DefaultSearchLimit
	}
	if in.Limit < 1 || in.Limit > engram.MaxSearchLimit {
		return page, engram.Errorf(engram.EInvalid, "limit: must be between 1 and %d", engram.MaxSearchLimit)
	}
	offset := 0
	if in.Cursor != "" {
		var err error
		if offset, err = engram.DecodeSearchCursor(in.Cursor, in.Query); err != nil {
			return page, err
		}
	}
	q := textsearch.Parse(in.Query)
	page.Results = []engram.SearchResult{}
	if q.Empty() {
		return page, nil
	}
	var hits []rankedHit
	if page.Mode != engram.SearchLexical {
		var err error
		hits, err = s.searchVectors(ctx, tenantID, in, q, page.Mode, offset)
		if engram.ErrorCode(err) == engram.EUnavailable && page.Mode == engram.SearchHybrid {
			// The provider is down or slow: the words still find.
			page.Mode, err = engram.SearchLexical, nil
		}
		if err != nil {
			return page, err
		}
	}
	if page.Mode == engram.SearchLexical {
		match, err := s.searchMatch(ctx, tenantID, q)
		if err != nil {
			return page, err
		}
		lex, err := s.d.Reader().SearchLexical(ctx, tenantID, engram.SearchRequest{
			Query: q, Match: match, Filter: in.Filter, Chunks: in.Chunks, TitleWeight: s.titleWeight,
			Offset: offset, Limit: in.Limit + 1,
		})
		if err != nil {
			return page, err
		}
		for i, h := range lex {
			rank := offset + i + 1
			hits = append(hits, rankedHit{hit: h, score: h.Score, lexical: &rank})
		}
	}
	if len(hits) > in.Limit {
		hits = hits[:in.Limit]
		page.HasMore = true
		page.NextCursor = engram.SearchCursorFor(in.Query, offset+in.Limit)
	}
	words := map[string]bool{}
	for _, w := range q.Words() {
		words[w] = true
	}
	for _, r := range hits {
		h := r.hit
		snippet, ms := textsearch.Snippet(h.ChunkContent, words)
		matches := make([]engram.SearchMatch, len(ms))
		for j, m := range ms {
			matches[j] = engram.SearchMatch{Start: m.Start, End: m.End}
		}
		page.Results = append(page.Results, engram.SearchResult{
			DocumentID: h.DocumentID, ExternalID: h.ExternalID, Title: h.Title, SourceType: h.SourceType, Classification: h.Classification,
			Status: h.Status, CreatedAt: h.CreatedAt, SourceCreatedAt: h.SourceCreatedAt, ChunkIndex: h.ChunkIndex,
			Snippet: snippet, Matches: matches, Score: r.score, Ranks: engram.SearchRanks{Lexical: r.lexical, Vector: r.vector},
		})
	}
	return page, nil
}

// searchMatch picks the clauses of q that find its candidates
// (engram.PlanSearchMatch) from the tenant's counts of its words: one
// statement when q has more than one clause and the engine scores by
// every word (engram.Capabilities.SearchAllWords), none otherwise.
func (s *Store) searchMatch(ctx context.Context, tenantID string, q engram.SearchQuery) (engram.SearchQuery, error) {
	if len(q.All) < 2 || !s.d.Capabilities().SearchAllWords {
		return q, nil
	}
	counts, err := s.d.Reader().SearchWordChunks(ctx, tenantID, q.Words(), s.matchBudget+1)
	if err != nil {
		return q, err
	}
	return engram.PlanSearchMatch(q, counts, s.matchBudget), nil
}

// Reindex rebuilds the tenant's search index entries, reindexBatch
// documents per transaction, for recovery (a restored backup, an index
// damaged outside engram); the writes keep it exact otherwise.
func (s *Store) Reindex(ctx context.Context, tenantID string) (int, error) {
	total, after := 0, engram.NilID
	for {
		var last string
		var n int
		err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
			var err error
			last, n, err = tx.SearchReindex(ctx, tenantID, after, reindexBatch)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if last == "" {
			return total, nil
		}
		after = last
	}
}

// isBlank reports whether s has nothing but white space.
func isBlank(s string) bool {
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' && r != '\f' && r != '\v' && r != 0x85 && r != 0xA0 && r != 0x3000 {
			return false
		}
	}
	return true
}
