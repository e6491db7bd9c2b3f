package http

import (
	"net/http"
	"strings"

	"github.com/engram-kb/engram"
)

// access is what an endpoint requires of the caller's role.
type access int

const (
	// canRead admits every role.
	canRead access = iota
	// canWrite admits members and admins; viewers get forbidden.
	canWrite
	// canAdmin admits admins only.
	canAdmin
)

// handlerFunc is an endpoint: it runs for an authenticated principal and
// either writes its response and returns nil, or returns the error to
// answer with.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p engram.Principal) error

// handle registers an endpoint behind authentication and the role check.
func (s *Server) handle(pattern string, need access, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if need == canWrite && !p.Role.CanWrite() {
			s.writeError(w, r, engram.Errorf(engram.EForbidden, "this %s has the %s role, which cannot change data; this needs a member or admin", p.Kind(), p.Role))
			return
		}
		if need == canAdmin && p.Role != engram.RoleAdmin {
			s.writeError(w, r, engram.Errorf(engram.EForbidden, "this %s has the %s role; this needs an admin", p.Kind(), p.Role))
			return
		}
		if err := h(w, r, p); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// authenticate resolves the bearer credential of r (an API key or a
// session's access token), or else the browser's session cookie. The
// tenant comes from the credential alone: no header, query parameter or
// body field can name another one.
func (s *Server) authenticate(r *http.Request) (engram.Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, secret, _ := strings.Cut(h, " ")
	secret = strings.TrimSpace(secret)
	if h == "" {
		// A browser's session cookie, which a state change must back with
		// the CSRF proof.
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			if err := s.checkOrigin(r, true); err != nil {
				return engram.Principal{}, err
			}
			return s.principal(r, c.Value)
		}
		return engram.Principal{}, engram.Errorf(engram.EUnauthorized, "missing credentials; send Authorization: Bearer <API key or access token>, or sign in")
	}
	// The scheme is case-insensitive (RFC 9110, section 11.1).
	if !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return engram.Principal{}, engram.Errorf(engram.EUnauthorized, "malformed Authorization header; send Authorization: Bearer <key>")
	}
	return s.principal(r, secret)
}

// principal resolves an API key or a session's access token.
func (s *Server) principal(r *http.Request, secret string) (engram.Principal, error) {
	p, err := s.store.Authenticate(r.Context(), secret)
	if err != nil {
		return engram.Principal{}, err
	}
	ri := infoOf(r)
	ri.tenantID, ri.keyID, ri.userID = p.TenantID, p.KeyID, p.UserID
	return p, nil
}
