package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/engram-kb/engram"
)

// statusByCode is the one place an error code becomes an HTTP status.
var statusByCode = map[string]int{
	engram.EInvalid:      http.StatusBadRequest,
	engram.EUnauthorized: http.StatusUnauthorized,
	engram.EForbidden:    http.StatusForbidden,
	engram.ENotFound:     http.StatusNotFound,
	engram.EConflict:     http.StatusConflict,
	engram.ETooLarge:     http.StatusRequestEntityTooLarge,
	engram.EUnavailable:  http.StatusServiceUnavailable,
	engram.ERateLimited:  http.StatusTooManyRequests,
	engram.EInternal:     http.StatusInternalServerError,
}

// errorBody is the JSON of an error response without details.
type errorBody struct {
	Success   bool   `json:"success"`
	Error     string `json:"error"`
	Code      string `json:"code"`
	RequestID string `json:"request_id"`
}

// writeError answers with err. An *engram.Error is shown as it is, with
// its details; anything else is internal: logged with the request id and
// shown to the client only as "internal error", because driver and
// library messages can carry SQL, paths or other tenants' values.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ri := infoOf(r)
	if r.Context().Err() != nil {
		// The client went away (or the server is shutting down): whatever
		// failed, failed because of that, and nobody reads an answer. A
		// 500 here would only page someone about a closed browser tab.
		ri.canceled = true
		s.log.Info("request canceled", "request_id", ri.id, "method", r.Method, "route", r.Pattern, "error", engram.LogText(err))
		return
	}
	var e *engram.Error
	status, known := 0, false
	if errors.As(err, &e) {
		status, known = statusByCode[e.Code]
	}
	if !known {
		// The driver's message can quote parameter values: the log names
		// the failed statement and the error's kind, never its text.
		s.log.Error("internal error", "request_id", ri.id, "method", r.Method, "route", r.Pattern,
			"statement", engram.QueryStatsFrom(r.Context()).FailedStatement(), "error", engram.LogText(err))
		_ = s.respond(w, r, http.StatusInternalServerError, errorBody{
			Error: "internal error", Code: engram.EInternal, RequestID: ri.id,
		})
		return
	}
	if e.Code == engram.EUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if e.Code == engram.ERateLimited {
		if secs, ok := e.Details["retry_after"].(int); ok {
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
	}
	if e.Code == engram.EUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="engram"`)
	}
	if len(e.Details) == 0 {
		_ = s.respond(w, r, status, errorBody{Error: e.Message, Code: e.Code, RequestID: ri.id})
		return
	}
	body := make(map[string]any, len(e.Details)+4)
	for k, v := range e.Details {
		body[k] = v
	}
	// The envelope is set last so that details can never overwrite it.
	body["success"] = false
	body["error"] = e.Message
	body["code"] = e.Code
	body["request_id"] = ri.id
	if err := s.respond(w, r, status, body); err != nil {
		// Details that do not encode (a NaN, a channel) are a bug in the
		// code that made them; the client still gets a well-formed 500.
		s.log.Error("internal error", "request_id", ri.id, "method", r.Method, "route", r.Pattern, "error", engram.LogText(err))
		_ = s.respond(w, r, http.StatusInternalServerError, errorBody{Error: "internal error", Code: engram.EInternal, RequestID: ri.id})
	}
}

// respond writes v as the JSON body with the given status. It encodes
// before writing anything, so that an encoding failure is returned with
// nothing sent and the caller can still answer with a clean 500.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s response: %w", r.Pattern, err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	// Responses carry one tenant's data; no shared cache may keep them.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}
