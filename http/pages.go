package http

import (
	"net/http"
	"net/url"

	"github.com/engram-kb/engram"
)

// What the web pages (package web) need of the API's browser transport:
// the same session cookies, the same CSRF proof and the same origin
// check, so that a page and a fetch from it are held to one rule.

// MountPages serves h at every path outside /api and /readyz, behind the
// same middleware as the API (request id, access log, panic recovery).
// Call it before the server takes requests.
func (s *Server) MountPages(h http.Handler) { s.pages = h }

// PagePrincipal resolves the browser session of r by its cookie alone
// (a page is never reached with a bearer token). A state-changing request
// must come from an allowed origin and carry token, the value of the
// engram_csrf cookie, as a form sends it. Returns unauthorized or
// forbidden.
func (s *Server) PagePrincipal(r *http.Request, token string) (engram.Principal, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return engram.Principal{}, engram.Errorf(engram.EUnauthorized, "not signed in")
	}
	if err := s.checkOriginToken(r, true, token); err != nil {
		return engram.Principal{}, err
	}
	return s.principal(r, c.Value)
}

// CSRFToken returns the browser's engram_csrf cookie, which pages put in
// their forms and scripts send in X-CSRF-Token; "" when there is none.
func CSRFToken(r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil {
		return c.Value
	}
	return ""
}

// PageSignIn signs a person in from the sign-in page and hands the browser
// the session cookies, exactly as POST /api/auth/login does. A request
// from another site's page is refused. Returns as Store.SignIn.
func (s *Server) PageSignIn(w http.ResponseWriter, r *http.Request, email, password string) (engram.Session, error) {
	if err := s.checkOrigin(r, false); err != nil {
		return engram.Session{}, err
	}
	sess, err := s.store.SignIn(r.Context(), email, password, clientAddr(r))
	if err != nil {
		return engram.Session{}, err
	}
	ri := infoOf(r)
	ri.tenantID, ri.userID = sess.Tenant.ID, sess.User.ID
	s.setSessionCookies(w, r, sess.Tokens)
	return sess, nil
}

// PageSignOut ends the session p and clears the browser's cookies.
func (s *Server) PageSignOut(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if p.UserID != "" {
		if err := s.store.SignOut(r.Context(), p); err != nil {
			return err
		}
	}
	s.clearSessionCookies(w, r)
	return nil
}

// ForgetSession clears the browser's session cookies (an expired or
// revoked session), so the sign-in page starts clean.
func (s *Server) ForgetSession(w http.ResponseWriter, r *http.Request) { s.clearSessionCookies(w, r) }

// StatusOf is the HTTP status the API answers err with (500 for an error
// that is not engram's), so a page fails with the same status.
func StatusOf(err error) int {
	if st, ok := statusByCode[engram.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// PageSearchInput reads a search from a page's query string, with the
// API's rules for GET /api/search. Returns invalid_argument.
func PageSearchInput(v url.Values) (engram.SearchInput, error) {
	return searchInput(params(v))
}

// PageDocumentFilter reads a document list's filters, order, limit and
// cursor from a page's query string, with the API's rules for GET
// /api/documents. Returns invalid_argument.
func PageDocumentFilter(v url.Values) (engram.DocumentFilter, error) {
	q := params(v)
	f, err := listFilter(q)
	if err != nil {
		return f, err
	}
	if f.Limit, err = q.intRange("limit", engram.DefaultListLimit, 1, engram.MaxListLimit); err != nil {
		return f, err
	}
	if c, ok := q.get("cursor"); ok && c != "" {
		if f.Cursor, err = engram.DecodeCursor(c, f.Sort, f.Desc); err != nil {
			return f, err
		}
	}
	return f, nil
}
