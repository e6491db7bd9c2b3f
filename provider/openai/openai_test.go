package openai_test

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/provider/openai"
)

const dims = 8

// hashVector is a deterministic embedding for the fakes: the hash of the
// text spread over dims numbers. It makes no semantic claim; it only lets
// the tests check that each vector comes back in its text's place.
func hashVector(s string) []float32 {
	h := fnv.New64a()
	h.Write([]byte(s))
	x := h.Sum64()
	v := make([]float32, dims)
	for i := range v {
		v[i] = float32((x>>(i*8))&0xff) / 255
	}
	return v
}

// fake is an OpenAI-compatible embeddings server whose answers a test
// scripts: each request takes the next step; past the last, it embeds.
type fake struct {
	t     *testing.T
	mu    sync.Mutex
	steps []func(w http.ResponseWriter, r *http.Request) bool
	calls atomic.Int32
	key   string
	// inFlight and most count concurrent requests.
	inFlight, most atomic.Int32
	hold           time.Duration
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.most.Load()
		if n <= m || f.most.CompareAndSwap(m, n) {
			break
		}
	}
	f.calls.Add(1)
	if got := r.Header.Get("Authorization"); got != "Bearer "+f.key {
		f.t.Errorf("Authorization = %q", got)
	}
	if r.URL.Path != "/v1/embeddings" || r.Method != http.MethodPost {
		f.t.Errorf("%s %s", r.Method, r.URL.Path)
	}
	time.Sleep(f.hold)
	f.mu.Lock()
	var step func(http.ResponseWriter, *http.Request) bool
	if len(f.steps) > 0 {
		step, f.steps = f.steps[0], f.steps[1:]
	}
	f.mu.Unlock()
	if step != nil && step(w, r) {
		return
	}
	var req struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad json", 400)
		return
	}
	type item struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	var data []item
	// Answer in reverse order: the client must place by index.
	for i := len(req.Input) - 1; i >= 0; i-- {
		data = append(data, item{i, hashVector(req.Input[i])})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"data": data, "model": req.Model})
}

func status(code int, header ...string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, _ *http.Request) bool {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		w.Write([]byte(`{"error":{"message":"scripted failure"}}`))
		return true
	}
}

func body(s string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, _ *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(s))
		return true
	}
}

func newEmbedder(t *testing.T, f *fake, cfg openai.Config) *openai.Embeddings {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL
	cfg.APIKey = f.key
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = time.Millisecond
	}
	c, err := openai.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e, err := openai.NewEmbeddings(c, openai.EmbeddingsConfig{Model: "test-embed", Dimensions: dims, Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEmbed(t *testing.T) {
	t.Parallel()
	texts := []string{"alpha", "beta", "gamma", "delta", "epsilon"}
	for _, c := range []struct {
		name    string
		steps   []func(http.ResponseWriter, *http.Request) bool
		cfg     openai.Config
		code    string // "" for success
		calls   int32
		message string
	}{
		{name: "ok", calls: 2},
		{name: "429 then ok, honouring Retry-After", steps: []func(http.ResponseWriter, *http.Request) bool{status(429, "Retry-After", "0.05")}, calls: 3},
		{name: "500 twice then ok", steps: []func(http.ResponseWriter, *http.Request) bool{status(500), status(503)}, calls: 4},
		{name: "500 every time", steps: []func(http.ResponseWriter, *http.Request) bool{status(500), status(500), status(500)},
			cfg: openai.Config{MaxAttempts: 3}, code: engram.EUnavailable, calls: 3, message: "HTTP 500"},
		{name: "400 is not retried", steps: []func(http.ResponseWriter, *http.Request) bool{status(400)},
			code: engram.EInvalid, calls: 1, message: "scripted failure"},
		{name: "timeout then ok", steps: []func(http.ResponseWriter, *http.Request) bool{func(w http.ResponseWriter, r *http.Request) bool {
			// Read the body, so the server notices the client hang up.
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
			return true
		}}, cfg: openai.Config{Timeout: 100 * time.Millisecond}, calls: 3},
		{name: "wrong dimensions", steps: []func(http.ResponseWriter, *http.Request) bool{body(`{"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[1,2]},{"index":2,"embedding":[1,2]}]}`)},
			code: engram.EInternal, calls: 1, message: "2 dimensions"},
		{name: "too few vectors", steps: []func(http.ResponseWriter, *http.Request) bool{body(`{"data":[]}`)},
			code: engram.EInternal, calls: 1, message: "0 vectors for 3 texts"},
		{name: "malformed JSON", steps: []func(http.ResponseWriter, *http.Request) bool{body(`{"data":[{"index":0,`)},
			code: engram.EInternal, calls: 1, message: "not the API's JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := &fake{t: t, steps: c.steps, key: "sk-test-secret-key"}
			e := newEmbedder(t, f, c.cfg)
			start := time.Now()
			vecs, err := e.Embed(context.Background(), texts)
			if got := f.calls.Load(); got != c.calls {
				t.Errorf("%d requests, want %d", got, c.calls)
			}
			if c.code != "" {
				if engram.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.message) {
					t.Fatalf("err = %v, want %s containing %q", err, c.code, c.message)
				}
				if strings.Contains(err.Error(), f.key) {
					t.Fatalf("the error quotes the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range texts {
				if want := hashVector(s); len(vecs[i]) != dims || vecs[i][0] != want[0] || vecs[i][7] != want[7] {
					t.Fatalf("vector %d = %v, want %v", i, vecs[i], want)
				}
			}
			if strings.Contains(c.name, "Retry-After") && time.Since(start) < 50*time.Millisecond {
				t.Fatalf("retried after %s, before Retry-After", time.Since(start))
			}
		})
	}
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	f := &fake{t: t, key: "k", hold: 20 * time.Millisecond}
	e := newEmbedder(t, f, openai.Config{MaxConcurrent: 2})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Embed(context.Background(), []string{"x"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if m := f.most.Load(); m > 2 || m < 1 {
		t.Fatalf("%d requests at once, limit 2", m)
	}
}

func TestLoadKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte("sk-from-file\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ENGRAM_TEST_EMBED_KEY", "")
	if k, err := openai.LoadKey("ENGRAM_TEST_EMBED_KEY", file); err != nil || k != "sk-from-file" {
		t.Fatalf("from file = %q, %v", k, err)
	}
	t.Setenv("ENGRAM_TEST_EMBED_KEY", "sk-from-env")
	if k, _ := openai.LoadKey("ENGRAM_TEST_EMBED_KEY", file); k != "sk-from-env" {
		t.Fatalf("from env = %q", k)
	}
	t.Setenv("ENGRAM_TEST_EMBED_KEY", "")
	if _, err := openai.LoadKey("ENGRAM_TEST_EMBED_KEY", filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing key file is no error")
	}
}
