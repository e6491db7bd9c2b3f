package service

import (
	"cmp"
	"context"
	"slices"

	"github.com/engram-kb/engram"
)

// Vector and hybrid search. The vector side embeds the query, scans the
// tenant's vectors of the configured model (one statement; the engine
// applies the tenant, the live-document rule and the filters) and scores
// each by its cosine with the query here, keeping the best chunk of each
// document unless chunks were asked for. Hybrid fuses the lexical and the
// vector top-N by reciprocal rank fusion: a result's score is the sum,
// over the rankings that found it, of 1/(rrfK + rank).

// rrfK is reciprocal rank fusion's constant (Cormack et al., 2009).
const rrfK = 60

// hybridDepth is how many results of each ranking a hybrid search fuses,
// at least: deeper pages take more.
const hybridDepth = 100

// rankedHit is a hit with its final score and its rank in each ranking
// that found it.
type rankedHit struct {
	hit             engram.SearchHit
	score           float64
	lexical, vector *int
}

// scored is a chunk and its cosine with the query.
type scored struct {
	key   engram.ChunkKey
	score float64
}

// searchVectors runs a vector or hybrid search and returns its ranked
// hits from offset on, one more than in.Limit when there are more.
func (s *Store) searchVectors(ctx context.Context, tenantID string, in engram.SearchInput, q engram.SearchQuery, mode engram.SearchMode, offset int) ([]rankedHit, error) {
	depth := min(offset+in.Limit+1, engram.SearchCandidates)
	if mode == engram.SearchHybrid {
		depth = max(depth, hybridDepth)
	}
	ectx, cancel := context.WithTimeout(ctx, QueryEmbedTimeout)
	vecs, err := s.embedder.Embed(ectx, []string{in.Query})
	cancel()
	if err != nil || len(vecs) != 1 || len(vecs[0]) != s.embedder.Dimensions() {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, engram.Errorf(engram.EUnavailable, "mode %s: the embedding model did not embed the query; try again, or use mode=lexical", mode)
	}
	qv := engram.NormalizeVector(vecs[0])
	model := engram.EmbeddingModel(s.embedder)
	best := map[string]scored{}
	var chunks []scored
	err = s.d.Reader().VectorScan(ctx, tenantID, model, in.Filter, func(k engram.ChunkKey, v []byte) {
		sc := scored{k, engram.DotVector(v, qv)}
		if in.Chunks {
			chunks = append(chunks, sc)
			return
		}
		if b, ok := best[k.DocumentID]; !ok || sc.score > b.score || (sc.score == b.score && k.ChunkIndex < b.key.ChunkIndex) {
			best[k.DocumentID] = sc
		}
	})
	if err != nil {
		return nil, err
	}
	for _, b := range best {
		chunks = append(chunks, b)
	}
	slices.SortFunc(chunks, func(a, b scored) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.key.DocumentID, b.key.DocumentID); c != 0 {
			return c
		}
		return cmp.Compare(a.key.ChunkIndex, b.key.ChunkIndex)
	})
	chunks = chunks[:min(len(chunks), depth)]

	// fused is keyed by document, or by chunk when chunks were asked for.
	keyOf := func(k engram.ChunkKey) engram.ChunkKey {
		if in.Chunks {
			return k
		}
		return engram.ChunkKey{DocumentID: k.DocumentID}
	}
	fused := map[engram.ChunkKey]*rankedHit{}
	var order []engram.ChunkKey
	chunkOf := map[engram.ChunkKey]engram.ChunkKey{}
	for i, c := range chunks {
		rank := i + 1
		k := keyOf(c.key)
		r := &rankedHit{score: c.score, vector: &rank}
		if mode == engram.SearchHybrid {
			r.score = 1.0 / float64(rrfK+rank)
		}
		fused[k], chunkOf[k] = r, c.key
		order = append(order, k)
	}
	if mode == engram.SearchHybrid {
		match, err := s.searchMatch(ctx, tenantID, q)
		if err != nil {
			return nil, err
		}
		lex, err := s.d.Reader().SearchLexical(ctx, tenantID, engram.SearchRequest{
			Query: q, Match: match, Filter: in.Filter, Chunks: in.Chunks, TitleWeight: s.titleWeight, Limit: depth,
		})
		if err != nil {
			return nil, err
		}
		for i, h := range lex {
			rank := i + 1
			k := keyOf(engram.ChunkKey{DocumentID: h.DocumentID, ChunkIndex: h.ChunkIndex})
			r, ok := fused[k]
			if !ok {
				r = &rankedHit{}
				fused[k] = r
				order = append(order, k)
			}
			// The lexical hit's chunk is the one shown: its words match.
			r.hit, r.lexical = h, &rank
			r.score += 1.0 / float64(rrfK+rank)
		}
	}
	slices.SortStableFunc(order, func(a, b engram.ChunkKey) int {
		if c := cmp.Compare(fused[b].score, fused[a].score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.DocumentID, b.DocumentID); c != 0 {
			return c
		}
		return cmp.Compare(a.ChunkIndex, b.ChunkIndex)
	})
	if offset >= len(order) {
		return nil, nil
	}
	order = order[offset:min(len(order), offset+in.Limit+1)]

	// The chunks only the vector side found are read in one statement.
	var need []engram.ChunkKey
	for _, k := range order {
		if fused[k].lexical == nil {
			need = append(need, chunkOf[k])
		}
	}
	if len(need) > 0 {
		hits, err := s.d.Reader().SearchHitsRead(ctx, tenantID, need)
		if err != nil {
			return nil, err
		}
		for _, h := range hits {
			k := keyOf(engram.ChunkKey{DocumentID: h.DocumentID, ChunkIndex: h.ChunkIndex})
			if r := fused[k]; r != nil && r.lexical == nil {
				r.hit = h
			}
		}
	}
	out := make([]rankedHit, 0, len(order))
	for _, k := range order {
		// A document deleted between the scan and the read has no hit.
		if r := fused[k]; r.hit.DocumentID != "" {
			out = append(out, *r)
		}
	}
	return out, nil
}
