package engram

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
)

// ChunkKey names one chunk of a tenant's document.
type ChunkKey struct {
	DocumentID string `json:"document_id"`
	ChunkIndex int    `json:"chunk_index"`
}

// PendingChunk is a chunk waiting for its vector.
type PendingChunk struct {
	ChunkKey
	Content string
}

// ChunkEmbedding is a chunk's vector (EncodeVector's bytes) with the text
// it was made from, so that a write can refuse it when the chunk changed
// meanwhile.
type ChunkEmbedding struct {
	ChunkKey
	Content string
	Vector  []byte
}

// EmbedStatus counts a tenant's chunks and those embedded by the
// configured model.
type EmbedStatus struct {
	Model    string `json:"model"`
	Chunks   int    `json:"chunks"`
	Embedded int    `json:"embedded"`
}

// EmbedProgress is what one embedding batch did.
type EmbedProgress struct {
	// Read is how many pending chunks the batch took (0: none was left).
	Read int
	// Written is how many vectors it stored; fewer than Read when chunks
	// changed or went while their texts were embedded.
	Written int
}

// EmbedStore embeds a tenant's chunks and reports how far that is.
type EmbedStore interface {
	// SetEmbedder makes searches use e for their vector side (nil: none,
	// lexical only). Call it before the store serves.
	SetEmbedder(e Embedder)
	// EmbedBatch embeds up to n of the tenant's chunks that e's model has
	// not embedded, and stores their vectors. Returns what Embed returns
	// (unavailable, invalid_argument, internal) when the provider fails;
	// then nothing is stored.
	EmbedBatch(ctx context.Context, tenantID string, e Embedder, n int) (EmbedProgress, error)
	// TenantsToEmbed lists up to limit tenants with chunks e's model has
	// not embedded.
	TenantsToEmbed(ctx context.Context, e Embedder, limit int) ([]string, error)
	// EmbedStatus counts the tenant's chunks and those e's model embedded.
	EmbedStatus(ctx context.Context, tenantID string, e Embedder) (EmbedStatus, error)
}

// EmbeddingModel is the name recorded with each chunk an embedder
// embeds: the model and the vectors' length, so that a change of either
// makes every chunk due again.
func EmbeddingModel(e Embedder) string { return fmt.Sprintf("%s@%d", e.Model(), e.Dimensions()) }

// EncodeVector scales v to length 1 (so that a dot product is the cosine)
// and writes it as little-endian float32s, the stored form on both
// engines.
func EncodeVector(v []float32) []byte {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	scale := float32(1)
	if sum > 0 {
		scale = float32(1 / math.Sqrt(sum))
	}
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x*scale))
	}
	return b
}

// DotVector is the dot product of a stored vector b with q (a normalised
// query vector of the same length); a stored vector of another length
// scores -2, below any cosine.
func DotVector(b []byte, q []float32) float64 {
	if len(b) != 4*len(q) {
		return -2
	}
	var s float32
	for i, x := range q {
		s += x * math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return float64(s)
}

// NormalizeVector returns v scaled to length 1 (v itself when zero).
func NormalizeVector(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return v
	}
	out := make([]float32, len(v))
	scale := float32(1 / math.Sqrt(sum))
	for i, x := range v {
		out[i] = x * scale
	}
	return out
}
