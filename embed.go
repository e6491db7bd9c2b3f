package engram

import "context"

// Embedder turns texts into vectors with one embedding model. Providers
// (provider/openai) implement it; search and the embedding jobs depend on
// it alone.
type Embedder interface {
	// Embed returns one vector of Dimensions() numbers per text, in the
	// order of texts. Returns unavailable when the provider could not be
	// reached or kept refusing (rate limits, server errors: worth trying
	// again later), invalid_argument when it refused the input, and
	// internal when its answer was not what the API promises (a wrong
	// number of vectors or dimensions, malformed JSON).
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Model names the model, as recorded with each embedded chunk.
	Model() string
	// Dimensions is the length of every vector.
	Dimensions() int
}
