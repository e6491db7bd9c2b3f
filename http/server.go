// Package http is engram's HTTP API: it turns requests into calls on the
// domain interfaces (engram.Store, engram.Classifier) and their results and
// errors into JSON. It builds no SQL and keeps no state of its own.
//
// Every response is a JSON object with "success": true or false. Errors
// carry "error" (a message for the user) and "code" (one of engram's error
// codes); the code decides the HTTP status in one table (see errors.go).
package http

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector"
)

// DefaultMaxBodyBytes is the largest request body accepted when
// Config.MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 10 << 20

// Config is what a Server needs. Store and Classifier are required.
type Config struct {
	Store      engram.Store
	Classifier engram.Classifier
	// Logger receives the access log and internal errors (default: discard).
	Logger *slog.Logger
	// Version is reported by GET /api/health.
	Version string
	// MaxBodyBytes bounds request bodies (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// ObserveRequest, when set, is told of every request: its route
	// pattern (never the path, so ids do not become labels), method,
	// status and duration. Metrics hang off it.
	ObserveRequest func(route, method string, status int, d time.Duration)
	// SlowRequest logs requests slower than this at warn (0: never).
	SlowRequest time.Duration
	// Connectors validates connector settings; its Roots are the
	// directories folder and mail connectors may read.
	Connectors connector.Registry
	// Ready, when set, decides GET /readyz beyond a database ping (for
	// example: are the migrations current?).
	Ready func(ctx context.Context) error
	// JobBatchSize is the documents per batch of the jobs the API starts
	// (default engram.DefaultJobBatchSize).
	JobBatchSize int
	// Analyzer proposes knowledge gaps for POST /api/knowledge/analyze;
	// without one that endpoint answers unavailable.
	Analyzer engram.GapAnalyzer
	// AnalyzerName names Analyzer in the context of the gaps it proposes
	// (default "builtin").
	AnalyzerName string
	// Signup is the sign-up policy: SignupOpen, SignupInvite or
	// SignupClosed (default).
	Signup string
	// CORSOrigins are the other origins (scheme://host[:port]) whose pages
	// may call the API with credentials; none by default.
	CORSOrigins []string
	// RefreshTTL is how long the browser keeps the refresh cookie; it
	// should match the store's refresh token life (default 30 days).
	RefreshTTL time.Duration
	// Learner, when set, trains tenants' classifier models and classifies
	// with them (Classifier stays the cold start); without it the
	// classifier endpoints answer unavailable.
	Learner engram.Learner
	// Chat, when set, answers POST /api/ask with a language model;
	// without it answers are extractive. ChatDailyTokens is each tenant's
	// daily token budget for it (0: none).
	Chat            engram.Chat
	ChatDailyTokens int
}

// Server is engram's HTTP API. It implements http.Handler.
type Server struct {
	store      engram.Store
	classifier engram.Classifier
	log        *slog.Logger
	version    string
	maxBody    int64
	mux        *http.ServeMux
	observe    func(route, method string, status int, d time.Duration)
	slow       time.Duration
	ready      func(ctx context.Context) error
	connectors connector.Registry
	// jobBatchSize is Config.JobBatchSize.
	jobBatchSize int
	// analyzer and analyzerName serve gap analysis.
	analyzer     engram.GapAnalyzer
	analyzerName string
	// signupPolicy, corsOrigins and refreshTTL are from the Config.
	signupPolicy string
	corsOrigins  []string
	refreshTTL   time.Duration
	learner      engram.Learner
	// pages serves every path outside /api (see MountPages).
	pages http.Handler
	// chat and chatDailyTokens are Config.Chat and Config.ChatDailyTokens.
	chat            engram.Chat
	chatDailyTokens int
}

// NewServer returns a Server for cfg. It panics when Store or Classifier is
// nil: that is a wiring mistake to catch at start-up, not per request.
func NewServer(cfg Config) *Server {
	if cfg.Store == nil || cfg.Classifier == nil {
		panic("enghttp: Config.Store and Config.Classifier are required")
	}
	s := &Server{
		store:      cfg.Store,
		classifier: cfg.Classifier,
		log:        cfg.Logger,
		version:    cfg.Version,
		maxBody:    cfg.MaxBodyBytes,
		mux:        http.NewServeMux(),
		observe:    cfg.ObserveRequest,
		slow:       cfg.SlowRequest,
		ready:      cfg.Ready,
		connectors: cfg.Connectors,

		analyzer:     cfg.Analyzer,
		analyzerName: cfg.AnalyzerName,
		signupPolicy: cfg.Signup,
		corsOrigins:  cfg.CORSOrigins,
		refreshTTL:   cfg.RefreshTTL,
		learner:      cfg.Learner,

		chat:            cfg.Chat,
		chatDailyTokens: cfg.ChatDailyTokens,
	}
	if s.signupPolicy == "" {
		s.signupPolicy = SignupClosed
	}
	if s.refreshTTL <= 0 {
		s.refreshTTL = 30 * 24 * time.Hour
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	s.jobBatchSize = cfg.JobBatchSize
	if s.jobBatchSize <= 0 {
		s.jobBatchSize = engram.DefaultJobBatchSize
	}
	s.routes()
	return s
}

// routes registers every endpoint. Literal segments (stats, review, bulk,
// classify) take precedence over the {id} wildcard in Go's ServeMux, so
// their order here does not matter; the tests check it anyway.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /api/health", s.health)
	s.mux.HandleFunc("GET /readyz", s.readyz)

	s.handle("POST /api/documents", canWrite, s.createDocuments)
	s.handle("GET /api/documents", canRead, s.listDocuments)
	s.handle("GET /api/search", canRead, s.search)
	s.handle("POST /api/search", canRead, s.searchPost)
	s.handle("GET /api/documents/stats", canRead, s.documentStats)
	s.handle("GET /api/documents/review", canRead, s.reviewQueue)
	s.handle("GET /api/documents/{id}", canRead, s.getDocument)
	s.handle("PATCH /api/documents/{id}", canWrite, s.patchDocument)
	// Deleting, soft or hard, needs a member or admin key like any write.
	s.handle("DELETE /api/documents/{id}", canWrite, s.deleteDocument)
	// Deleting everything is an admin's decision; the literal segment
	// "all" wins over {id}.
	s.handle("DELETE /api/documents/all", canAdmin, s.deleteAllDocuments)

	s.handle("POST /api/documents/classify", canWrite, s.classifyDocuments)
	s.handle("GET /api/classifier", canRead, s.classifierStatus)
	s.handle("POST /api/classifier/train", canWrite, s.trainClassifier)
	s.handle("POST /api/documents/{id}/classify", canWrite, s.classifyDocument)
	s.handle("PUT /api/documents/{id}/classify", canWrite, s.setClassification)
	s.handle("POST /api/documents/{id}/confirm", canWrite, s.confirmDocument)
	s.handle("POST /api/documents/{id}/reject", canWrite, s.rejectDocument)
	s.handle("POST /api/documents/{id}/restore", canWrite, s.restoreDocument)

	s.handle("POST /api/documents/bulk/classify", canWrite, s.bulkSetClassification)
	s.handle("POST /api/documents/bulk/confirm", canWrite, s.bulkConfirm)
	s.handle("POST /api/documents/bulk/reject", canWrite, s.bulkReject)
	s.handle("POST /api/documents/bulk/delete", canWrite, s.bulkDelete)
	s.handle("POST /api/documents/bulk/restore", canWrite, s.bulkRestore)

	s.connectorRoutes()
	s.syncRoutes()
	s.handle("GET /api/jobs", canRead, s.listJobs)
	s.handle("GET /api/jobs/{id}", canRead, s.getJob)
	s.handle("POST /api/jobs/{id}/cancel", canWrite, s.cancelJob)
	// Knowledge gaps: viewers read, members and admins write.
	s.handle("GET /api/knowledge/gaps", canRead, s.listGaps)
	s.handle("POST /api/knowledge/gaps", canWrite, s.createGap)
	s.handle("GET /api/knowledge/gaps/stats", canRead, s.gapStats)
	s.handle("POST /api/knowledge/gaps/bulk/status", canWrite, s.bulkGapStatus)
	s.handle("GET /api/knowledge/gaps/{id}", canRead, s.getGap)
	s.handle("PATCH /api/knowledge/gaps/{id}", canWrite, s.patchGap)
	s.handle("DELETE /api/knowledge/gaps/{id}", canWrite, s.deleteGap)
	s.handle("PUT /api/knowledge/gaps/{id}/status", canWrite, s.setGapStatus)
	s.handle("POST /api/knowledge/gaps/{id}/answers", canWrite, s.addGapAnswer)
	s.handle("PUT /api/knowledge/gaps/{id}/answers/{answer_id}", canWrite, s.updateGapAnswer)
	s.handle("POST /api/knowledge/gaps/{id}/answers/{answer_id}/verify", canWrite, s.verifyGapAnswer)
	s.handle("POST /api/knowledge/gaps/{id}/feedback", canWrite, s.gapFeedback)
	s.handle("POST /api/knowledge/analyze", canWrite, s.analyzeGaps)
	s.accountRoutes()
	s.askRoutes()
}

// health answers without authentication so load balancers can probe it;
// it pings the database so a dead database shows as 503.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if err := s.store.Ping(r.Context()); err != nil {
		s.writeError(w, r, err)
		return
	}
	_ = s.respond(w, r, http.StatusOK, struct {
		Success  bool   `json:"success"`
		Status   string `json:"status"`
		Database string `json:"database"`
		Version  string `json:"version"`
	}{true, "ok", s.store.Engine(), s.version})
}

// readyz answers 200 when the database answers and the server's Ready
// check (migrations current) passes, 503 otherwise: load balancers send
// traffic only to instances that can serve it.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.store.Ping(r.Context()); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.ready != nil {
		if err := s.ready(r.Context()); err != nil {
			s.log.Warn("not ready", "request_id", infoOf(r).id, "error", engram.LogText(err))
			s.writeError(w, r, engram.Errorf(engram.EUnavailable, "not ready: %s", engram.ErrorMessage(err)))
			return
		}
	}
	_ = s.respond(w, r, http.StatusOK, struct {
		Success bool   `json:"success"`
		Status  string `json:"status"`
	}{true, "ready"})
}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if ri, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return ri.id
	}
	return ""
}

// requestInfo is what the middleware and the handlers share about one
// request; the auth step fills in the caller for the access log.
type requestInfo struct {
	id       string
	tenantID string
	keyID    string
	userID   string
	// canceled is set when the client went away before a response was
	// written; the access log then shows 499 rather than a status nobody
	// received.
	canceled bool
}

type infoKey struct{}

func infoOf(r *http.Request) *requestInfo {
	if ri, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// ServeHTTP runs the middleware around the router: request id, statement
// counting, body limit, panic recovery and the access log.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ri := &requestInfo{id: requestID(r.Header.Get("X-Request-Id"))}
	ctx, stats := engram.WithQueryStats(r.Context())
	r = r.WithContext(context.WithValue(ctx, infoKey{}, ri))
	// The limit wraps the server's own ResponseWriter: through it the
	// server learns to close the connection after an oversized body.
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	w.Header().Set("X-Request-Id", ri.id)
	rw := &responseWriter{ResponseWriter: w, stats: stats}
	badPosition := error(nil)
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		// A read-only request may be served from a read replica that has
		// replayed the client's last write (see readPosition).
		var min engram.WALPosition
		min, badPosition = readPosition(r)
		r = r.WithContext(engram.WithReplicaReads(r.Context(), min))
	}

	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic", "request_id", ri.id, "method", r.Method, "route", r.Pattern,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !rw.wrote {
				s.writeError(rw, r, fmt.Errorf("panic: %v", v))
			}
		}
		s.logAccess(r, rw, ri, stats, start)
	}()

	if s.cors(rw, r) {
		return
	}
	if badPosition != nil {
		s.writeError(rw, r, badPosition)
		return
	}
	s.dispatch(rw, r)
	if !rw.wrote && !ri.canceled {
		rw.WriteHeader(http.StatusOK)
	}
}

// dispatch routes r, answering unknown paths and methods in JSON rather
// than with the mux's plain-text pages.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if s.pages != nil && !strings.HasPrefix(r.URL.Path, "/api/") && r.URL.Path != "/readyz" {
		s.pages.ServeHTTP(w, r)
		return
	}
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	// The mux's own handler knows whether another method would match; run
	// it against a recorder to learn its status and Allow header.
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		// 405 is not an engram error code: it is about the protocol, not
		// the data, so it is answered here, outside the code table.
		w.Header().Set("Allow", rec.header.Get("Allow"))
		_ = s.respond(w, r, http.StatusMethodNotAllowed, errorBody{
			Error: fmt.Sprintf("method %s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, rec.header.Get("Allow")),
			Code:  engram.EInvalid, RequestID: infoOf(r).id,
		})
		return
	}
	s.writeError(w, r, engram.Errorf(engram.ENotFound, "no endpoint %s %s", r.Method, r.URL.Path))
}

// headerRecorder captures what the mux's fallback handlers write.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.status = code }

func (s *Server) logAccess(r *http.Request, rw *responseWriter, ri *requestInfo, stats *engram.QueryStats, start time.Time) {
	status := rw.status
	if ri.canceled && !rw.wrote {
		status = 499 // nginx's "client closed request"
	}
	attrs := []any{
		"method", r.Method,
		"route", r.Pattern,
		"path", r.URL.Path,
		"status", status,
		"duration_ms", ms(time.Since(start)),
		"statements", stats.Count(),
		"db_ms", ms(stats.Duration()),
		"request_id", ri.id,
	}
	if ri.tenantID != "" {
		attrs = append(attrs, "tenant_id", ri.tenantID)
		if ri.keyID != "" {
			attrs = append(attrs, "key_id", ri.keyID)
		}
		if ri.userID != "" {
			attrs = append(attrs, "user_id", ri.userID)
		}
	}
	d := time.Since(start)
	if s.observe != nil {
		s.observe(r.Pattern, r.Method, status, d)
	}
	if s.slow > 0 && d > s.slow {
		s.log.Warn("slow request", attrs...)
		return
	}
	s.log.Info("request", attrs...)
}

// ms is d in milliseconds, rounded to microseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// responseWriter sets Server-Timing just before the status line, when the
// statement count of the request is final, and remembers the status for
// the access log.
type responseWriter struct {
	http.ResponseWriter
	stats  *engram.QueryStats
	status int
	wrote  bool
}

// WriteHeader adds the Server-Timing header and writes the status once.
func (w *responseWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	w.status = code
	w.Header().Set("Server-Timing", fmt.Sprintf(`db;dur=%.3f;desc="%d statements"`, ms(w.stats.Duration()), w.stats.Count()))
	if at := w.stats.Commit(); at != 0 {
		w.Header().Set(commitHeader, at.String())
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write writes the status first if the handler did not.
func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestID keeps a caller's X-Request-Id when it is short and plain, so
// ids can be followed across services, and makes a new one otherwise: an
// arbitrary header value must not reach the logs.
func requestID(in string) string {
	if in == "" || len(in) > 64 {
		return engram.NewID()
	}
	for i := 0; i < len(in); i++ {
		c := in[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return engram.NewID()
		}
	}
	return in
}

// With a read replica (PostgreSQL's --db-read-url), a response to a
// request that wrote carries the WAL position of its commit in
// commitHeader; a client that sends it back in minPositionHeader reads
// from the replica only once the replica has replayed that far, and from
// the primary until then: it always reads its own writes. A client that
// sends nothing may read from a replica up to --db-read-max-lag behind.
const (
	commitHeader      = "Engram-Commit-LSN"
	minPositionHeader = "Engram-Min-LSN"
)

// readPosition is the position a read-only request must see: its
// minPositionHeader, or 0.
func readPosition(r *http.Request) (engram.WALPosition, error) {
	v := r.Header.Get(minPositionHeader)
	if v == "" {
		return 0, nil
	}
	p, err := engram.ParseWALPosition(v)
	if err != nil {
		return 0, engram.Errorf(engram.EInvalid, "%s: %q is not a WAL position such as 16/B374D848 (send back the %s of your last write)", minPositionHeader, v, commitHeader)
	}
	return p, nil
}
