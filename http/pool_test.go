package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify"
	enghttp "github.com/engram-kb/engram/http"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestPoolPressure holds both connections of a pool of two while 50
// requests arrive: each gets 503 unavailable with Retry-After instead of
// queueing, and the server serves again as soon as the connections are
// back. A client that gives up stops waiting for a connection too.
func TestPoolPressure(t *testing.T) {
	t.Parallel()
	base, ok := testdb.PostgresURL(t)
	if !ok {
		t.Skip("pool pressure is a PostgreSQL behaviour; TEST_DATABASE_URL is not set")
	}
	s := testdb.OpenPostgres(t, base, postgres.Options{MaxConns: 2, MinConns: 0, AcquireTimeout: 300 * time.Millisecond})
	_, key, err := s.CreateTenant(context.Background(), "Acme", "acme")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: s}
	e.srv = newTestServer(t, enghttp.Config{Store: s, Classifier: classify.New()})

	// Warm the key's last_used_at, so a request needs no write.
	e.call(t, "GET", "/api/documents", key.Secret, nil).want(t, 200, "")

	held := holdAll(t, testdb.Postgres(s).Pool(), 2)
	// The requests run in goroutines, which must not call t.Fatal: each
	// records what it got and the test goroutine checks.
	type got struct {
		status     int
		retryAfter string
		code       string
		err        error
	}
	var wg sync.WaitGroup
	results := make([]got, 50)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/documents", nil)
			req.Header.Set("Authorization", "Bearer "+key.Secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			var body struct {
				Code string `json:"code"`
			}
			results[i].err = json.NewDecoder(resp.Body).Decode(&body)
			results[i].status, results[i].retryAfter, results[i].code = resp.StatusCode, resp.Header.Get("Retry-After"), body.Code
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil || r.status != http.StatusServiceUnavailable || r.code != engram.EUnavailable || r.retryAfter == "" {
			t.Fatalf("request %d under pressure: %+v; want 503 unavailable with Retry-After", i, r)
		}
	}
	if st := testdb.Postgres(s).PoolStats()[0]; st.AcquireTimeouts < 50 || st.Waiting != 0 {
		t.Fatalf("pool stats after the burst = %+v", st)
	}

	// A client that disconnects while waiting leaves the queue at once.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/documents", nil)
	req.Header.Set("Authorization", "Bearer "+key.Secret)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	cancel()

	for _, c := range held {
		c.Release()
	}
	e.call(t, "GET", "/api/documents", key.Secret, nil).want(t, 200, "")
	if st := testdb.Postgres(s).PoolStats()[0]; st.Waiting != 0 {
		t.Fatalf("requests still waiting after the pressure ended: %+v", st)
	}
}

func holdAll(t *testing.T, p *pgxpool.Pool, n int) []*pgxpool.Conn {
	t.Helper()
	out := make([]*pgxpool.Conn, n)
	for i := range out {
		c, err := p.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out[i] = c
	}
	return out
}

func newTestServer(t *testing.T, cfg enghttp.Config) *httptest.Server {
	srv := httptest.NewServer(enghttp.NewServer(cfg))
	t.Cleanup(srv.Close)
	return srv
}
