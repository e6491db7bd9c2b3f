package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/engram-kb/engram"
	enghttp "github.com/engram-kb/engram/http"
	"github.com/engram-kb/engram/metrics"
)

// observeFlags are the observability switches of serve and worker.
type observeFlags struct {
	metricsAddr   string
	pprofAddr     string
	slowStatement time.Duration
	slowRequest   time.Duration
	logStatements bool
}

// register adds the switches; requests only for a command that serves the
// API.
func (o *observeFlags) register(fs *flag.FlagSet, requests bool) {
	// Never on the API's address: the figures need no key there, and
	// the API port is the one exposed to the world.
	fs.StringVar(&o.metricsAddr, "metrics-addr", env("ENGRAM_METRICS_ADDR", ""), "serve /metrics on this address (e.g. 127.0.0.1:9090), never on the API's; off when empty (ENGRAM_METRICS_ADDR)")
	fs.StringVar(&o.pprofAddr, "pprof-addr", env("ENGRAM_PPROF_ADDR", ""), "serve net/http/pprof on this address; off when empty (ENGRAM_PPROF_ADDR)")
	fs.DurationVar(&o.slowStatement, "slow-statement", envDuration("ENGRAM_SLOW_STATEMENT", time.Second), "log and count SQL statements slower than this (ENGRAM_SLOW_STATEMENT)")
	if requests {
		fs.DurationVar(&o.slowRequest, "slow-request", envDuration("ENGRAM_SLOW_REQUEST", 5*time.Second), "log requests slower than this at warn (ENGRAM_SLOW_REQUEST)")
	}
	fs.BoolVar(&o.logStatements, "log-statements", env("ENGRAM_LOG_STATEMENTS", "") == "1", "log every SQL statement's operation, duration and rows, never its parameters (ENGRAM_LOG_STATEMENTS=1)")
}

// install creates the metrics, with the job gauges, and routes every
// statement through them and the slow-statement log.
func (o *observeFlags) install(logger *slog.Logger, s engram.Store) *metrics.Metrics {
	pools, _ := s.(engram.PoolReporter)
	m := metrics.New(pools, o.slowStatement)
	m.WatchJobs(s)
	engram.SetStatementObserver(func(ctx context.Context, st engram.Statement) {
		m.ObserveStatement(ctx, st)
		var msg string
		switch {
		case o.slowStatement > 0 && st.Duration > o.slowStatement:
			msg = "slow statement"
		case o.logStatements:
			msg = "statement"
		default:
			return
		}
		attrs := []any{"op", st.Op, "duration_ms", float64(st.Duration.Microseconds()) / 1000,
			"request_id", enghttp.RequestID(ctx), "failed", st.Err != nil}
		if st.Rows >= 0 {
			attrs = append(attrs, "rows", st.Rows)
		}
		level := slog.LevelInfo
		if msg == "slow statement" {
			level = slog.LevelWarn
		}
		logger.Log(ctx, level, msg, attrs...)
	})
	return m
}

// serveSide starts the metrics and pprof listeners that have addresses.
func (o *observeFlags) serveSide(logger *slog.Logger, m *metrics.Metrics) (func(), error) {
	var servers []*http.Server
	start := func(addr string, h http.Handler, what string) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		logger.Info(what+" listening", "addr", ln.Addr().String())
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error(what+" server stopped", "error", err.Error())
			}
		}()
		return nil
	}
	stop := func() {
		for _, s := range servers {
			s.Close()
		}
	}
	if o.metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		if err := start(o.metricsAddr, mux, "metrics"); err != nil {
			return stop, err
		}
	}
	if o.pprofAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		if err := start(o.pprofAddr, mux, "pprof"); err != nil {
			stop()
			return func() {}, err
		}
	}
	return stop, nil
}
