package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify"
	enghttp "github.com/engram-kb/engram/http"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/web"
)

// These tests read the pages as HTML, without a browser: the headers,
// the session and CSRF rules, and escaping. cmd/engram/web_test.go drives
// the same pages in Chromium.

// inlineHandler finds an inline event handler attribute.
var inlineHandler = regexp.MustCompile(`\son[a-z]+\s*=`)

type env struct {
	srv      *httptest.Server
	store    testdb.Store
	tenant   engram.Tenant
	password map[engram.Role]string
}

func newEnv(t *testing.T, s testdb.Store) *env {
	t.Helper()
	ctx := context.Background()
	tn, _, err := s.CreateTenant(ctx, "Acme", "acme")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: s, tenant: tn, password: map[engram.Role]string{}}
	for _, r := range []engram.Role{engram.RoleAdmin, engram.RoleViewer} {
		_, pw, err := s.CreateUser(ctx, "acme", string(r)+"@example.com", r, "")
		if err != nil {
			t.Fatal(err)
		}
		e.password[r] = pw
	}
	api := enghttp.NewServer(enghttp.Config{Store: s, Classifier: classify.New()})
	web.Mount(api, s, nil)
	e.srv = httptest.NewServer(api)
	t.Cleanup(e.srv.Close)
	return e
}

// browser is a client with a cookie jar that follows no redirects.
func (e *env) browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) do(t *testing.T, c *http.Client, method, path, origin string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *env) signIn(t *testing.T, role engram.Role) *http.Client {
	t.Helper()
	c := e.browser(t)
	resp, body := e.do(t, c, "POST", "/login", e.srv.URL, url.Values{"email": {string(role) + "@example.com"},
		"password": {e.password[role]}, "next": {"/jobs"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/jobs" {
		t.Fatalf("sign in: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return c
}

func (e *env) csrf(c *http.Client) string {
	u, _ := url.Parse(e.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "engram_csrf" {
			return ck.Value
		}
	}
	return ""
}

func TestPages(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		anon := e.browser(t)

		t.Run("headers", func(t *testing.T) {
			resp, body := e.do(t, anon, "GET", "/login", "", nil)
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP allows inline code: %q", csp)
			}
			if resp.Header.Get("X-Frame-Options") != "DENY" || resp.StatusCode != 200 {
				t.Errorf("login: %d, X-Frame-Options %q", resp.StatusCode, resp.Header.Get("X-Frame-Options"))
			}
			// No inline script or style anywhere: the CSP would block it.
			if strings.Contains(body, "<script>") || strings.Contains(body, "style=") || inlineHandler.MatchString(body) {
				t.Errorf("inline code in the page:\n%s", body)
			}
			resp, js := e.do(t, anon, "GET", "/static/app.js", "", nil)
			if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") || !strings.Contains(js, "X-CSRF-Token") {
				t.Errorf("app.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		})

		t.Run("a page needs a session", func(t *testing.T) {
			resp, _ := e.do(t, anon, "GET", "/documents?status=pending", "", nil)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fdocuments%3Fstatus%3Dpending" {
				t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
		})

		t.Run("the API stays JSON", func(t *testing.T) {
			resp, body := e.do(t, anon, "GET", "/api/nothing", "", nil)
			if resp.StatusCode != 404 || !strings.Contains(body, `"success":false`) {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			resp, body = e.do(t, anon, "GET", "/nothing", "", nil)
			if resp.StatusCode != 404 || !strings.Contains(body, "There is no page at /nothing") {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
		})

		t.Run("an invitation link opens a page", func(t *testing.T) {
			resp, body := e.do(t, anon, "GET", "/accept-invite?token=egi_x%22%3E%3Cb%3E", "", nil)
			if resp.StatusCode != 200 || !strings.Contains(body, `value="egi_x&#34;&gt;&lt;b&gt;"`) {
				t.Fatalf("%d\n%s", resp.StatusCode, body)
			}
		})

		t.Run("sign-in from another site is refused", func(t *testing.T) {
			resp, body := e.do(t, e.browser(t), "POST", "/login", "https://evil.example", url.Values{"email": {"admin@example.com"}, "password": {e.password[engram.RoleAdmin]}})
			if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Set-Cookie") != "" {
				t.Fatalf("%d %v\n%s", resp.StatusCode, resp.Header["Set-Cookie"], body)
			}
		})

		t.Run("a wrong password says so", func(t *testing.T) {
			resp, body := e.do(t, e.browser(t), "POST", "/login", e.srv.URL, url.Values{"email": {"admin@example.com"}, "password": {"not the password"}})
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "do not match an account") {
				t.Fatalf("%d\n%s", resp.StatusCode, body)
			}
		})

		t.Run("next stays on this server", func(t *testing.T) {
			for _, next := range []string{"//evil.example/x", "https://evil.example", "/\\evil.example"} {
				resp, _ := e.do(t, e.browser(t), "POST", "/login", e.srv.URL, url.Values{"email": {"admin@example.com"},
					"password": {e.password[engram.RoleAdmin]}, "next": {next}})
				if loc := resp.Header.Get("Location"); loc != "/documents" {
					t.Errorf("next %q went to %q", next, loc)
				}
			}
		})

		admin := e.signIn(t, engram.RoleAdmin)
		ctx := context.Background()
		docs, err := engram.PrepareDocuments([]engram.NewDocument{{Title: "<script>alert(1)</script>", Content: `<img src=x onerror="alert(2)"> plans`}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateDocuments(ctx, e.tenant.ID, docs); err != nil {
			t.Fatal(err)
		}
		id := docs[0].ID

		t.Run("every page renders", func(t *testing.T) {
			for _, p := range []string{"/documents", "/documents?status=pending&created_after=2020-01-01", "/documents/" + id, "/review",
				"/search", "/search?q=plans", "/ask", "/gaps", "/integrations", "/jobs", "/settings", "/account"} {
				resp, body := e.do(t, admin, "GET", p, "", nil)
				if resp.StatusCode != 200 || !strings.Contains(body, "admin@example.com") {
					t.Errorf("%s: %d\n%s", p, resp.StatusCode, body)
				}
			}
		})

		t.Run("fields are escaped", func(t *testing.T) {
			for _, p := range []string{"/documents", "/documents/" + id, "/search?q=plans"} {
				_, body := e.do(t, admin, "GET", p, "", nil)
				if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
					t.Errorf("%s shows the document's HTML as HTML:\n%s", p, body)
				}
				if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
					t.Errorf("%s lacks the escaped title", p)
				}
			}
		})

		t.Run("bad filters are errors in words", func(t *testing.T) {
			resp, body := e.do(t, admin, "GET", "/documents?status=lost", "", nil)
			if resp.StatusCode != 400 || !strings.Contains(body, "status") {
				t.Fatalf("%d\n%s", resp.StatusCode, body)
			}
			resp, body = e.do(t, admin, "GET", "/documents/"+engram.NewID(), "", nil)
			if resp.StatusCode != 404 {
				t.Fatalf("another id: %d\n%s", resp.StatusCode, body)
			}
		})

		t.Run("settings are for admins", func(t *testing.T) {
			viewer := e.signIn(t, engram.RoleViewer)
			resp, body := e.do(t, viewer, "GET", "/settings", "", nil)
			if resp.StatusCode != 403 || !strings.Contains(body, "for admins") {
				t.Fatalf("%d\n%s", resp.StatusCode, body)
			}
			if _, body := e.do(t, viewer, "GET", "/documents", "", nil); strings.Contains(body, `href="/settings"`) {
				t.Error("a viewer's menu links to the settings")
			}
		})

		t.Run("sign-out needs the CSRF token", func(t *testing.T) {
			resp, _ := e.do(t, admin, "POST", "/logout", e.srv.URL, url.Values{"csrf": {"wrong"}})
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("without the token: %d", resp.StatusCode)
			}
			if resp, _ := e.do(t, admin, "GET", "/jobs", "", nil); resp.StatusCode != 200 {
				t.Fatalf("the session ended anyway: %d", resp.StatusCode)
			}
			resp, _ = e.do(t, admin, "POST", "/logout", e.srv.URL, url.Values{"csrf": {e.csrf(admin)}})
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
				t.Fatalf("sign out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			if resp, _ := e.do(t, admin, "GET", "/jobs", "", nil); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("after sign-out: %d", resp.StatusCode)
			}
		})
	})
}
