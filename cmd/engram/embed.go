package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/jobs"
	"github.com/engram-kb/engram/provider/openai"
)

// embedKeyEnv is the environment variable holding the embeddings API key.
const embedKeyEnv = "ENGRAM_EMBED_API_KEY"

// embedFlags configure the embedding model: an OpenAI-compatible
// POST /v1/embeddings (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp's
// server, LocalAI). Without --embed-url there is none, and search is
// lexical.
type embedFlags struct {
	url, model, keyFile string
	dims, batch         int
	sendDims            bool
	every, timeout      time.Duration
}

func (f *embedFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "embed-url", env("ENGRAM_EMBED_URL", ""), "OpenAI-compatible embeddings API root, e.g. https://api.openai.com or http://127.0.0.1:11434 (Ollama); none: lexical search only (ENGRAM_EMBED_URL)")
	fs.StringVar(&f.model, "embed-model", env("ENGRAM_EMBED_MODEL", ""), "embedding model, e.g. text-embedding-3-small or nomic-embed-text (ENGRAM_EMBED_MODEL)")
	fs.IntVar(&f.dims, "embed-dimensions", envInt("ENGRAM_EMBED_DIMENSIONS", 0), "length of the model's vectors; every answer is checked against it (ENGRAM_EMBED_DIMENSIONS)")
	fs.BoolVar(&f.sendDims, "embed-send-dimensions", env("ENGRAM_EMBED_SEND_DIMENSIONS", "") == "1", "send --embed-dimensions to the API, for models that shorten their vectors (ENGRAM_EMBED_SEND_DIMENSIONS=1)")
	fs.StringVar(&f.keyFile, "embed-key-file", env("ENGRAM_EMBED_KEY_FILE", ""), "file whose first line is the embeddings API key, when "+embedKeyEnv+" is not set (ENGRAM_EMBED_KEY_FILE)")
	fs.IntVar(&f.batch, "embed-batch", envInt("ENGRAM_EMBED_BATCH", jobs.DefaultEmbedBatch), "chunks per embedding request and batch (ENGRAM_EMBED_BATCH)")
	fs.DurationVar(&f.timeout, "embed-timeout", envDuration("ENGRAM_EMBED_TIMEOUT", 30*time.Second), "give up one embeddings request after this long (it is retried, with backoff, up to 5 attempts) (ENGRAM_EMBED_TIMEOUT)")
	fs.DurationVar(&f.every, "embed-every", envDuration("ENGRAM_EMBED_EVERY", jobs.DefaultEmbedEvery), "how often workers look for chunks to embed (ENGRAM_EMBED_EVERY)")
}

// embedder returns the configured embedder, nil when there is none. The
// key is read here and never logged.
func (f embedFlags) embedder() (engram.Embedder, error) {
	if f.url == "" {
		if f.model != "" || f.dims != 0 {
			return nil, fmt.Errorf("--embed-model and --embed-dimensions need --embed-url")
		}
		return nil, nil
	}
	if f.batch < 1 || f.batch > 2048 {
		return nil, fmt.Errorf("--embed-batch must be from 1 to 2048")
	}
	key, err := openai.LoadKey(embedKeyEnv, f.keyFile)
	if err != nil {
		return nil, err
	}
	c, err := openai.NewClient(openai.Config{BaseURL: f.url, APIKey: key, Timeout: f.timeout})
	if err != nil {
		return nil, fmt.Errorf("--embed-url: %w", err)
	}
	e, err := openai.NewEmbeddings(c, openai.EmbeddingsConfig{Model: f.model, Dimensions: f.dims, SendDimensions: f.sendDims, Batch: f.batch})
	if err != nil {
		return nil, fmt.Errorf("--%s", engram.ErrorMessage(err))
	}
	return e, nil
}
