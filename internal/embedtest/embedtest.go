// Package embedtest is an OpenAI-compatible embeddings server for tests:
// POST /v1/embeddings answered by a deterministic hashing embedder, with
// faults a test can switch on (429, 500, a slow answer, wrong dimensions,
// malformed JSON, an answer that never comes).
//
// The embedding is feature hashing of the folded words of a text: each
// word adds ±1 to one of the dimensions its hash picks. Texts that share
// words get a positive cosine, so the mechanics of vector and hybrid
// search can be tested, but it makes no semantic claim at all: synonyms,
// paraphrases and meaning are invisible to it, and its figures on an
// evaluation say nothing about a real model.
package embedtest

import (
	"encoding/json"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/engram-kb/engram/internal/textsearch"
)

// Model is the model name the server answers for any request.
const Model = "hashing-test"

// Fault is what the server does to a request instead of answering it.
type Fault string

// Faults.
const (
	None Fault = ""
	// RateLimit answers 429 with Retry-After: 0.
	RateLimit Fault = "429"
	// ServerError answers 500.
	ServerError Fault = "500"
	// Slow waits Server.Delay before it answers.
	Slow Fault = "slow"
	// WrongDimensions answers vectors one number short.
	WrongDimensions Fault = "dims"
	// Malformed answers 200 with a body that is not JSON.
	Malformed Fault = "malformed"
	// Hang never answers: it waits until the client gives up.
	Hang Fault = "hang"
)

// Server is the fake. Its zero faults embed every request.
type Server struct {
	*httptest.Server
	Dims int
	// Delay is how long a Slow answer waits.
	Delay time.Duration

	mu sync.Mutex
	// faults are taken one per request, in order; then fault applies.
	faults   []Fault
	fault    Fault
	requests int
	// answered counts each text the server embedded and answered.
	answered map[string]int
	// release, when closed, ends the requests that hang.
	release chan struct{}
}

// New starts a server embedding into dims numbers (or the request's
// "dimensions"); it is closed when the
// test ends (Close).
func New(dims int) *Server {
	s := &Server{Dims: dims, answered: map[string]int{}, release: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close releases hanging requests and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.release:
	default:
		close(s.release)
	}
	s.mu.Unlock()
	s.Server.Close()
}

// SetFault makes every later request meet f (None: answer).
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	s.fault, s.faults = f, nil
	s.mu.Unlock()
}

// Script makes the next requests meet faults, one each, then answer.
func (s *Server) Script(faults ...Fault) {
	s.mu.Lock()
	s.faults, s.fault = faults, None
	s.mu.Unlock()
}

// Requests is how many requests arrived.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Answered returns how many times each text was embedded and answered.
func (s *Server) Answered() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.answered))
	for k, v := range s.answered {
		out[k] = v
	}
	return out
}

// Vector is the hashing embedding of text in dims numbers.
func Vector(text string, dims int) []float32 {
	v := make([]float32, dims)
	for _, t := range textsearch.Tokens(text) {
		w := t.Text
		if textsearch.IsStopWord(w) {
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(w))
		x := h.Sum64()
		sign := float32(1)
		if x>>63 == 1 {
			sign = -1
		}
		v[x%uint64(dims)] += sign
	}
	return v
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/embeddings" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var req struct {
		Model      string   `json:"model"`
		Input      []string `json:"input"`
		Dimensions int      `json:"dimensions"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests++
	f := s.fault
	if len(s.faults) > 0 {
		f, s.faults = s.faults[0], s.faults[1:]
	}
	release := s.release
	s.mu.Unlock()
	dims := s.Dims
	if req.Dimensions > 0 {
		dims = req.Dimensions
	}
	switch f {
	case RateLimit:
		w.Header().Set("Retry-After", "0")
		http.Error(w, `{"error":{"message":"rate limited"}}`, http.StatusTooManyRequests)
		return
	case ServerError:
		http.Error(w, `{"error":{"message":"server error"}}`, http.StatusInternalServerError)
		return
	case Malformed:
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"data": [{"embedding": [0.1, `))
		return
	case Hang:
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return
	case Slow:
		select {
		case <-r.Context().Done():
			return
		case <-time.After(s.Delay):
		}
	case WrongDimensions:
		dims--
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	out := struct {
		Object string `json:"object"`
		Data   []item `json:"data"`
		Model  string `json:"model"`
	}{Object: "list", Model: Model}
	for i, text := range req.Input {
		out.Data = append(out.Data, item{Object: "embedding", Index: i, Embedding: Vector(text, dims)})
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write(b); err == nil && f != WrongDimensions {
		s.mu.Lock()
		for _, text := range req.Input {
			s.answered[strings.Clone(text)]++
		}
		s.mu.Unlock()
	}
}
