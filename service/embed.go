package service

import (
	"context"
	"time"

	"github.com/engram-kb/engram"
)

// Embedding: the use cases the embedding jobs (package jobs) and `engram
// eval search` run. A batch reads the chunks a model has not embedded (one
// statement), embeds their texts with no transaction open, and writes the
// vectors with a guard (one statement in its own transaction): a chunk
// whose text changed or that went meanwhile is left alone, and a chunk
// already embedded by the model is never written again, so a batch that
// is repeated (a killed worker's, a second worker's) writes nothing twice.

// QueryEmbedTimeout bounds the embedding of a search's query: a search
// does not wait longer for the provider.
const QueryEmbedTimeout = 5 * time.Second

// SetEmbedder makes searches use e for their vector side.
func (s *Store) SetEmbedder(e engram.Embedder) { s.embedder = e }

// EmbedBatch embeds up to n of the tenant's chunks not embedded by e's
// model: two statements (the read, the guarded write) and e's requests.
func (s *Store) EmbedBatch(ctx context.Context, tenantID string, e engram.Embedder, n int) (engram.EmbedProgress, error) {
	var p engram.EmbedProgress
	model := engram.EmbeddingModel(e)
	pending, err := s.d.Writer().EmbedPending(ctx, tenantID, model, n)
	if err != nil || len(pending) == 0 {
		return p, err
	}
	p.Read = len(pending)
	texts := make([]string, len(pending))
	for i, c := range pending {
		texts[i] = c.Content
	}
	vecs, err := e.Embed(ctx, texts)
	if err != nil {
		return p, err
	}
	if len(vecs) != len(texts) {
		return p, engram.Errorf(engram.EInternal, "embeddings: %d vectors for %d texts", len(vecs), len(texts))
	}
	out := make([]engram.ChunkEmbedding, len(pending))
	for i, c := range pending {
		if len(vecs[i]) != e.Dimensions() {
			return p, engram.Errorf(engram.EInternal, "embeddings: model %s gave %d dimensions, configured %d", e.Model(), len(vecs[i]), e.Dimensions())
		}
		out[i] = engram.ChunkEmbedding{ChunkKey: c.ChunkKey, Content: c.Content, Vector: engram.EncodeVector(vecs[i])}
	}
	err = s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		p.Written, err = tx.EmbedWrite(ctx, tenantID, model, out)
		return err
	})
	return p, err
}

// TenantsToEmbed lists tenants with chunks e's model has not embedded:
// one statement.
func (s *Store) TenantsToEmbed(ctx context.Context, e engram.Embedder, limit int) ([]string, error) {
	return s.d.Writer().EmbedDue(ctx, engram.EmbeddingModel(e), limit)
}

// EmbedStatus counts the tenant's chunks and those e's model embedded:
// one statement.
func (s *Store) EmbedStatus(ctx context.Context, tenantID string, e engram.Embedder) (engram.EmbedStatus, error) {
	return s.d.Reader().EmbedCounts(ctx, tenantID, engram.EmbeddingModel(e))
}
