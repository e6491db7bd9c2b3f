package http

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/engram-kb/engram"
)

// The browser's transport. A browser keeps the session in cookies that
// scripts cannot read (HttpOnly), sent to this server only from its own
// site's pages or top-level navigations (SameSite=Lax), over HTTPS only
// (Secure) unless the server is on plain-HTTP loopback. Because a browser
// attaches cookies whoever makes it send the request, every state-changing
// request that authenticates by cookie must also prove it comes from an
// allowed page: its Origin (or Referer) is this server or a --cors-origins
// entry, and it carries the X-CSRF-Token header equal to the readable
// engram_csrf cookie, which another site can neither read nor set.

const (
	sessionCookie = "engram_session"
	refreshCookie = "engram_refresh"
	csrfCookie    = "engram_csrf"
	csrfHeader    = "X-CSRF-Token"
)

// corsMethods and corsHeaders are what a preflight allows.
const (
	corsMethods = "GET, POST, PUT, PATCH, DELETE"
	corsHeaders = "Authorization, Content-Type, X-Tenant, X-Requested-With, X-CSRF-Token, " + minPositionHeader
)

// setSessionCookies hands the browser the session: the access token, the
// refresh token (sent only to the auth endpoints) and a CSRF token.
func (s *Server) setSessionCookies(w http.ResponseWriter, r *http.Request, t engram.Tokens) {
	secure := !plainLoopback(r)
	refreshAge := int(s.refreshTTL / time.Second)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: t.AccessToken, Path: "/", MaxAge: t.ExpiresIn,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: refreshCookie, Value: t.RefreshToken, Path: "/api/auth", MaxAge: refreshAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: engram.NewToken(""), Path: "/", MaxAge: refreshAge,
		Secure: secure, SameSite: http.SameSiteLaxMode})
}

// clearSessionCookies tells the browser to forget the session.
func (s *Server) clearSessionCookies(w http.ResponseWriter, r *http.Request) {
	secure := !plainLoopback(r)
	for _, c := range []struct{ name, path string }{{sessionCookie, "/"}, {refreshCookie, "/api/auth"}, {csrfCookie, "/"}} {
		http.SetCookie(w, &http.Cookie{Name: c.name, Value: "", Path: c.path, MaxAge: -1, HttpOnly: c.name != csrfCookie,
			Secure: secure, SameSite: http.SameSiteLaxMode})
	}
}

// plainLoopback reports whether r came over plain HTTP to a loopback
// host, the one case where cookies go without Secure (a browser would
// not send them back otherwise, and loopback traffic does not leave the
// machine).
func plainLoopback(r *http.Request) bool {
	if r.TLS != nil {
		return false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// requestOrigin is this server's origin as the request reached it.
func requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// unsafeMethod reports whether a method may change state.
func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// allowedOrigin reports whether origin may make credentialed requests:
// this server itself, or one of --cors-origins.
func (s *Server) allowedOrigin(r *http.Request, origin string) bool {
	return origin == requestOrigin(r) || slices.Contains(s.corsOrigins, origin)
}

// checkOrigin refuses a state-changing browser request from a page of
// another site. A request with neither Origin nor Referer is a non-browser
// client's, and passes unless cookie is set: a request that authenticates
// by cookie must name its page and carry the CSRF token.
func (s *Server) checkOrigin(r *http.Request, cookie bool) error {
	return s.checkOriginToken(r, cookie, r.Header.Get(csrfHeader))
}

// checkOriginToken is checkOrigin with the CSRF proof given: a web page's
// form sends it as a field rather than a header.
func (s *Server) checkOriginToken(r *http.Request, cookie bool, token string) error {
	if !unsafeMethod(r.Method) {
		return nil
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		if ref := r.Header.Get("Referer"); ref != "" {
			if u, err := url.Parse(ref); err == nil && u.Scheme != "" && u.Host != "" {
				origin = u.Scheme + "://" + u.Host
			}
		}
	}
	if origin != "" && !s.allowedOrigin(r, origin) {
		return engram.Errorf(engram.EForbidden, "cross-site request refused: origin %s is not allowed", origin)
	}
	if !cookie {
		return nil
	}
	if origin == "" {
		return engram.Errorf(engram.EForbidden, "cross-site request refused: a request authenticated by cookie must send Origin or Referer")
	}
	c, err := r.Cookie(csrfCookie)
	got := token
	if err != nil || c.Value == "" || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) != 1 {
		return engram.Errorf(engram.EForbidden, "cross-site request refused: send the engram_csrf cookie's value in the %s header", csrfHeader)
	}
	return nil
}

// cors answers a preflight (and reports true), or adds the CORS headers
// to a request from an allowed origin. Credentials are allowed only for
// listed origins, each named exactly, never "*".
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	allowed := slices.Contains(s.corsOrigins, origin)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		if !allowed {
			s.writeError(w, r, engram.Errorf(engram.EForbidden, "origin %s is not allowed; the server's --cors-origins lists the origins that are", origin))
			return true
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Allow-Headers", corsHeaders)
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	if allowed {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, "+commitHeader)
	}
	return false
}
