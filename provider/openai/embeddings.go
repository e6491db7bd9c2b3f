package openai

import (
	"context"

	"github.com/engram-kb/engram"
)

// EmbeddingsConfig configures an Embeddings client.
type EmbeddingsConfig struct {
	// Model is the model's name, e.g. text-embedding-3-small.
	Model string
	// Dimensions is the length the vectors must have. Sent as the API's
	// "dimensions" when SendDimensions (models that can shorten their
	// vectors); checked on every answer either way.
	Dimensions     int
	SendDimensions bool
	// Batch is the most texts one request carries (default 64).
	Batch int
}

// Embeddings is engram.Embedder over POST /v1/embeddings.
type Embeddings struct {
	c   *Client
	cfg EmbeddingsConfig
}

var _ engram.Embedder = (*Embeddings)(nil)

// NewEmbeddings returns an embedder that sends its requests through c.
func NewEmbeddings(c *Client, cfg EmbeddingsConfig) (*Embeddings, error) {
	if cfg.Model == "" {
		return nil, engram.Errorf(engram.EInvalid, "embed-model: must not be empty")
	}
	if cfg.Dimensions <= 0 {
		return nil, engram.Errorf(engram.EInvalid, "embed-dimensions: must be a positive number")
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 64
	}
	return &Embeddings{c: c, cfg: cfg}, nil
}

// Model names the model.
func (e *Embeddings) Model() string { return e.cfg.Model }

// Dimensions is the length of every vector.
func (e *Embeddings) Dimensions() int { return e.cfg.Dimensions }

type embedRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
	Dimensions     int      `json:"dimensions,omitempty"`
}

type embedResponse struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
}

// Embed embeds texts in batches of cfg.Batch, one request each.
func (e *Embeddings) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for start := 0; start < len(texts); start += e.cfg.Batch {
		end := min(start+e.cfg.Batch, len(texts))
		req := embedRequest{Model: e.cfg.Model, Input: texts[start:end], EncodingFormat: "float"}
		if e.cfg.SendDimensions {
			req.Dimensions = e.cfg.Dimensions
		}
		var resp embedResponse
		if err := e.c.Post(ctx, "/v1/embeddings", req, &resp); err != nil {
			return nil, err
		}
		if len(resp.Data) != end-start {
			return nil, engram.Errorf(engram.EInternal, "embeddings: %d vectors for %d texts", len(resp.Data), end-start)
		}
		seen := make([]bool, end-start)
		for _, d := range resp.Data {
			if d.Index < 0 || d.Index >= end-start || seen[d.Index] {
				return nil, engram.Errorf(engram.EInternal, "embeddings: the answer's index %d is out of place", d.Index)
			}
			if len(d.Embedding) != e.cfg.Dimensions {
				return nil, engram.Errorf(engram.EInternal, "embeddings: model %s gave %d dimensions, configured %d", e.cfg.Model, len(d.Embedding), e.cfg.Dimensions)
			}
			seen[d.Index] = true
			out[start+d.Index] = d.Embedding
		}
	}
	return out, nil
}
