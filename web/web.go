// Package web is engram's web app: server-rendered pages over the same
// use cases the JSON API calls (engram.Store), mounted by `engram serve`
// at every path outside /api. Pages read without JavaScript; the actions
// (review, bulk, sync, answers, settings) are made by a small script,
// static/app.js, that calls the JSON API with the browser's session
// cookie and CSRF token, so every rule is the API's.
//
// Every asset is embedded; the Content-Security-Policy admits scripts and
// styles from this server only and no inline script, and no other site
// may frame a page.
package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	enghttp "github.com/engram-kb/engram/http"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// csp is the Content-Security-Policy of every page: nothing inline,
// nothing from another origin, never framed.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Config is what the web app needs.
type Config struct {
	// Store is the use cases the pages read.
	Store engram.Store
	// API is the JSON API the pages are mounted in: its session cookies,
	// CSRF check and input rules are the pages' too.
	API *enghttp.Server
	// Logger receives internal errors (default: discard).
	Logger *slog.Logger
}

// Handler serves the pages and their assets.
type Handler struct {
	store engram.Store
	api   *enghttp.Server
	log   *slog.Logger
	mux   *http.ServeMux
	pages map[string]*template.Template
}

// New returns the web app for cfg.
func New(cfg Config) *Handler {
	h := &Handler{store: cfg.Store, api: cfg.API, log: cfg.Logger, mux: http.NewServeMux(), pages: map[string]*template.Template{}}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		h.pages[base] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	h.routes()
	return h
}

// Mount serves the web app inside api, at every path outside /api.
func Mount(api *enghttp.Server, store engram.Store, log *slog.Logger) {
	api.MountPages(New(Config{Store: store, API: api, Logger: log}))
}

func (h *Handler) routes() {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	h.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Assets change only with the binary; an hour is a fair trade.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	h.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/documents", http.StatusSeeOther)
	})
	h.mux.HandleFunc("GET /login", h.loginPage)
	h.mux.HandleFunc("POST /login", h.loginSubmit)
	h.mux.HandleFunc("POST /logout", h.logout)
	h.mux.HandleFunc("GET /accept-invite", h.acceptInvite)
	h.page("GET /account", h.account)
	h.page("GET /documents", h.documents)
	h.page("GET /documents/{id}", h.document)
	h.page("GET /review", h.review)
	h.page("GET /search", h.search)
	h.page("GET /ask", h.ask)
	h.page("GET /gaps", h.gaps)
	h.page("GET /gaps/{id}", h.gap)
	h.page("GET /integrations", h.integrations)
	h.page("GET /jobs", h.jobs)
	h.page("GET /settings", h.settings)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, http.StatusNotFound, "error", view{Title: "Not found",
			Data: errorView{Message: "There is no page at " + r.URL.Path + "."}})
	})
}

// ServeHTTP sets the security headers of every answer and routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

// view is what the layout shows around every page.
type view struct {
	Title  string
	Active string
	CSRF   string
	User   *engram.User
	Role   engram.Role
	Flash  string
	Data   any
}

// IsAdmin and CanWrite let templates hide what the role cannot do (the
// API refuses it anyway).
func (v view) IsAdmin() bool  { return v.Role == engram.RoleAdmin }
func (v view) CanWrite() bool { return v.Role.CanWrite() }

type errorView struct{ Message string }

// pageFunc renders one page for a signed-in person, or returns the
// error to show.
type pageFunc func(r *http.Request, p engram.Principal, v *view) (string, error)

// page registers a page behind the session: a browser without one is
// sent to sign in and brought back.
func (h *Handler) page(pattern string, fn pageFunc) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := h.api.PagePrincipal(r, "")
		if err != nil {
			if engram.ErrorCode(err) == engram.EUnauthorized {
				h.api.ForgetSession(w, r)
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			h.fail(w, r, err)
			return
		}
		v := view{CSRF: enghttp.CSRFToken(r), Role: p.Role}
		if p.UserID != "" {
			if u, err := h.store.GetUser(r.Context(), p.TenantID, p.UserID); err == nil {
				v.User = &u
			}
		}
		name, err := fn(r, p, &v)
		if err != nil {
			v.Title, v.Data = "Something went wrong", errorView{Message: h.message(r, err)}
			h.render(w, r, enghttp.StatusOf(err), "error", v)
			return
		}
		h.render(w, r, http.StatusOK, name, v)
	})
}

// message is err in words for a person; an internal error is logged and
// shown only as such.
func (h *Handler) message(r *http.Request, err error) string {
	if engram.ErrorCode(err) == engram.EInternal {
		h.log.Error("page failed", "request_id", enghttp.RequestID(r.Context()), "path", r.URL.Path, "error", engram.LogText(err))
		return "Something went wrong on the server (request " + enghttp.RequestID(r.Context()) + "). Try again; if it keeps failing, tell your administrator."
	}
	return engram.ErrorMessage(err)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.render(w, r, enghttp.StatusOf(err), "error", view{Title: "Something went wrong", Data: errorView{Message: h.message(r, err)}})
}

// render writes a page whole or not at all: a template that fails half
// way must not leave half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t, ok := h.pages[name]
	if !ok {
		panic("web: no template " + name)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		h.log.Error("template failed", "request_id", enghttp.RequestID(r.Context()), "template", name, "error", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// loginView is the sign-in page.
type loginView struct {
	Next  string
	Email string
	Error string
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "login", view{Title: "Sign in", Data: loginView{Next: safeNext(r.URL.Query().Get("next"))}})
}

// acceptInvite is the page an invitation link opens: the invited person
// chooses a password, and the API's accept-invite signs them in.
func (h *Handler) acceptInvite(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "accept", view{Title: "Join engram", Data: r.URL.Query().Get("token")})
}

func (h *Handler) account(r *http.Request, p engram.Principal, v *view) (string, error) {
	v.Title, v.Active = "Your account", "account"
	return "account", nil
}

func (h *Handler) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, engram.Errorf(engram.EInvalid, "the form could not be read"))
		return
	}
	email, next := strings.TrimSpace(r.PostForm.Get("email")), safeNext(r.PostForm.Get("next"))
	if _, err := h.api.PageSignIn(w, r, email, r.PostForm.Get("password")); err != nil {
		msg := h.message(r, err)
		if engram.ErrorCode(err) == engram.EUnauthorized {
			msg = "That email and password do not match an account. Check them and try again."
		}
		h.render(w, r, enghttp.StatusOf(err), "login", view{Title: "Sign in", Data: loginView{Next: next, Email: email, Error: msg}})
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, engram.Errorf(engram.EInvalid, "the form could not be read"))
		return
	}
	p, err := h.api.PagePrincipal(r, r.PostForm.Get("csrf"))
	if err != nil && engram.ErrorCode(err) != engram.EUnauthorized {
		h.fail(w, r, err)
		return
	}
	if err == nil {
		if err := h.api.PageSignOut(w, r, p); err != nil {
			h.fail(w, r, err)
			return
		}
	} else {
		h.api.ForgetSession(w, r)
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a post-sign-in destination on this server: a path, never
// another origin ("//evil.example" included).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/login") {
		return "/documents"
	}
	return next
}

// query returns the non-empty values of r's query string, which the API's
// parsers read as given (an empty filter field means no filter).
func query(r *http.Request) url.Values {
	out := url.Values{}
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 && strings.TrimSpace(vs[0]) != "" {
			out.Set(k, strings.TrimSpace(vs[0]))
		}
	}
	return out
}

// dateToTime turns a date field (2026-01-31) into the timestamp the API
// parsers read; the end of a range is the end of its day.
func dateToTime(v url.Values, name string, end bool) {
	s := v.Get(name)
	if len(s) != len("2006-01-02") {
		return
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return
	}
	if end {
		t = t.Add(24*time.Hour - time.Nanosecond)
	}
	v.Set(name, t.Format(time.RFC3339Nano))
}
