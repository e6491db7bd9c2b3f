package http_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
	enghttp "github.com/engram-kb/engram/http"
	"github.com/engram-kb/engram/internal/testdb"
)

func withSignup(policy string, origins ...string) option {
	return func(cfg *enghttp.Config) { cfg.Signup, cfg.CORSOrigins = policy, origins }
}

const pw = "correct horse battery"

// signIn signs in and returns the access token.
func (e *env) signIn(t *testing.T, email, password string) string {
	t.Helper()
	r := e.call(t, "POST", "/api/auth/login", "", map[string]string{"email": email, "password": password}).want(t, 200, "")
	return r.Body["tokens"].(map[string]any)["access_token"].(string)
}

// TestAccountsHTTP: sign-up follows the policy; sign-in answers the shape
// the web app reads; invitations; role checks on users, keys and
// connectors and on every write for a viewer; every 401 and 403 is JSON
// with success false; another tenant's users are 404.
func TestAccountsHTTP(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s, withSignup(enghttp.SignupOpen))
		up := e.call(t, "POST", "/api/auth/signup", "", map[string]string{"email": "ada@example.com", "password": pw,
			"full_name": "Ada", "organization_name": "Ada's Lab"}).want(t, 201, "")
		tenant := up.Body["tenant"].(map[string]any)
		if tenant["name"] != "Ada's Lab" || !strings.HasPrefix(tenant["slug"].(string), "ada-s-lab-") {
			t.Fatalf("sign-up tenant = %v", tenant)
		}
		login := e.call(t, "POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": pw}).want(t, 200, "")
		for _, k := range []string{"success", "tokens", "user", "tenant"} {
			if _, ok := login.Body[k]; !ok {
				t.Fatalf("login lacks %q: %s", k, login.Raw)
			}
		}
		tokens := login.Body["tokens"].(map[string]any)
		user := login.Body["user"].(map[string]any)
		for _, k := range []string{"access_token", "refresh_token", "expires_in"} {
			if _, ok := tokens[k]; !ok {
				t.Fatalf("tokens lack %q: %s", k, login.Raw)
			}
		}
		for _, k := range []string{"id", "email", "full_name", "role", "tenant_id"} {
			if _, ok := user[k]; !ok {
				t.Fatalf("user lacks %q: %s", k, login.Raw)
			}
		}
		for _, k := range []string{"id", "name", "slug"} {
			if _, ok := login.Body["tenant"].(map[string]any)[k]; !ok {
				t.Fatalf("tenant lacks %q: %s", k, login.Raw)
			}
		}
		if tokens["expires_in"] != float64(3600) || user["role"] != "admin" {
			t.Fatalf("login = %s", login.Raw)
		}
		admin := tokens["access_token"].(string)
		wrongPw := e.call(t, "POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": "wrong password!"}).want(t, 401, engram.EUnauthorized)
		wrongEmail := e.call(t, "POST", "/api/auth/login", "", map[string]string{"email": "no@example.com", "password": "wrong password!"}).want(t, 401, engram.EUnauthorized)
		if wrongPw.Body["error"] != wrongEmail.Body["error"] {
			t.Errorf("wrong password says %v, wrong email %v", wrongPw.Body["error"], wrongEmail.Body["error"])
		}
		me := e.call(t, "GET", "/api/auth/me", admin, nil).want(t, 200, "")
		if me.Body["user"].(map[string]any)["email"] != "ada@example.com" {
			t.Fatalf("me = %s", me.Raw)
		}
		e.call(t, "GET", "/api/auth/me", "", nil).want(t, 401, engram.EUnauthorized)
		e.call(t, "GET", "/api/auth/me", "egs_forged", nil).want(t, 401, engram.EUnauthorized)

		// Invitations make a member and a viewer.
		invited := map[string]string{}
		for _, role := range []string{"member", "viewer"} {
			inv := e.call(t, "POST", "/api/users/invite", admin, map[string]string{"email": role + "@example.com", "role": role}).want(t, 201, "")
			token := inv.Body["invitation"].(map[string]any)["token"].(string)
			if !strings.Contains(inv.Body["invite_url"].(string), url.QueryEscape(token)) {
				t.Fatalf("invite = %s", inv.Raw)
			}
			acc := e.call(t, "POST", "/api/auth/accept-invite", "", map[string]string{"token": token, "password": pw, "full_name": role}).want(t, 201, "")
			invited[role] = acc.Body["tokens"].(map[string]any)["access_token"].(string)
			e.call(t, "POST", "/api/auth/accept-invite", "", map[string]string{"token": token, "password": pw}).want(t, 409, engram.EConflict)
		}
		member, viewer := invited["member"], invited["viewer"]

		// Role checks.
		users := e.call(t, "GET", "/api/users", viewer, nil).want(t, 200, "")
		if n := len(users.Body["users"].([]any)); n != 3 {
			t.Fatalf("%d users, want 3: %s", n, users.Raw)
		}
		memberID := ""
		for _, u := range users.Body["users"].([]any) {
			if u.(map[string]any)["role"] == "member" {
				memberID = u.(map[string]any)["id"].(string)
			}
		}
		forbidden := []struct {
			who, method, path string
			body              any
		}{
			{viewer, "POST", "/api/documents", map[string]any{"documents": []any{map[string]any{"title": "t", "content": "c"}}}},
			{viewer, "POST", "/api/knowledge/gaps", map[string]any{"title": "t"}},
			{member, "POST", "/api/users/invite", map[string]string{"email": "z@example.com", "role": "viewer"}},
			{member, "PATCH", "/api/users/" + memberID, map[string]string{"role": "admin"}},
			{member, "DELETE", "/api/users/" + memberID, nil},
			{member, "GET", "/api/apikeys", nil},
			{member, "POST", "/api/apikeys", map[string]string{"role": "viewer", "name": "mine"}},
			{member, "DELETE", "/api/apikeys/" + engram.NewID(), nil},
			{member, "POST", "/api/integrations", map[string]any{"type": "push", "name": "x"}},
			{member, "DELETE", "/api/documents/all", nil},
		}
		for _, f := range forbidden {
			r := e.call(t, f.method, f.path, f.who, f.body)
			if r.Status != 403 || r.Body["success"] != false || r.Body["code"] != engram.EForbidden {
				t.Errorf("%s %s: %d %s, want 403 forbidden", f.method, f.path, r.Status, r.Raw)
			}
		}
		docID := e.call(t, "POST", "/api/documents", member, map[string]any{"documents": []any{map[string]any{"title": "t", "content": "c"}}}).
			want(t, 201, "").Body["ids"].([]any)[0].(string)
		e.call(t, "PATCH", "/api/users/"+memberID, admin, map[string]string{"role": "viewer"}).want(t, 200, "")
		me = e.call(t, "GET", "/api/auth/me", member, nil).want(t, 200, "")
		if me.Body["role"] != "viewer" {
			t.Errorf("after the role change, me = %s", me.Raw)
		}
		e.call(t, "POST", "/api/documents", member, map[string]any{"documents": []any{map[string]any{"title": "t", "content": "c"}}}).want(t, 403, engram.EForbidden)
		adminID := user["id"].(string)
		e.call(t, "DELETE", "/api/users/"+adminID, admin, nil).want(t, 409, engram.EConflict, "last admin")

		// A key an admin makes while signed in is theirs.
		made := e.call(t, "POST", "/api/apikeys", admin, map[string]string{"role": "viewer", "name": "ada's script"}).want(t, 201, "")
		secret := made.Body["api_key"].(map[string]any)["api_key"].(string)
		e.call(t, "GET", "/api/users", secret, nil).want(t, 200, "")
		listed := e.call(t, "GET", "/api/apikeys", admin, nil).want(t, 200, "")
		if ks := listed.Body["api_keys"].([]any); len(ks) != 1 || ks[0].(map[string]any)["user_id"] != adminID {
			t.Errorf("the admin's keys = %s", listed.Raw)
		}

		// Another tenant's admin: 404 on our users, its own list only.
		e.call(t, "POST", "/api/auth/signup", "", map[string]string{"email": "eve@example.org", "password": pw}).want(t, 201, "")
		eve := e.signIn(t, "eve@example.org", pw)
		for _, m := range []struct {
			method string
			body   any
		}{{"GET", nil}, {"PATCH", map[string]string{"role": "viewer"}}, {"DELETE", nil}} {
			e.call(t, m.method, "/api/users/"+memberID, eve, m.body).want(t, 404, engram.ENotFound)
		}
		for _, m := range []string{"GET", "PATCH", "DELETE"} {
			e.call(t, m, "/api/documents/"+docID, eve, map[string]string{"title": "hijacked"}).want(t, 404, engram.ENotFound)
		}
		e.call(t, "GET", "/api/documents/"+docID, admin, nil).want(t, 200, "")
		if n := len(e.call(t, "GET", "/api/users", eve, nil).want(t, 200, "").Body["users"].([]any)); n != 1 {
			t.Errorf("the other tenant lists %d users", n)
		}

		// Deactivation ends the session at once; sign-out too.
		e.call(t, "DELETE", "/api/users/"+memberID, admin, nil).want(t, 200, "")
		e.call(t, "GET", "/api/auth/me", member, nil).want(t, 401, engram.EUnauthorized)
		e.call(t, "POST", "/api/auth/logout", admin, nil).want(t, 200, "")
		e.call(t, "GET", "/api/auth/me", admin, nil).want(t, 401, engram.EUnauthorized)

		// Key list and revoke, for admins.
		keys := e.call(t, "GET", "/api/apikeys", e.admin.Secret, nil).want(t, 200, "")
		if len(keys.Body["api_keys"].([]any)) != 3 {
			t.Fatalf("keys = %s", keys.Raw)
		}
		e.call(t, "DELETE", "/api/apikeys/"+e.member.ID, e.admin.Secret, nil).want(t, 200, "")
		e.call(t, "GET", "/api/documents", e.member.Secret, nil).want(t, 401, engram.EUnauthorized)
	})
}

// TestSignInRateLimitHTTP: sign-up is closed by default; the eleventh attempt within a minute is 429
// with Retry-After.
func TestSignInRateLimitHTTP(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		e.call(t, "POST", "/api/auth/signup", "", map[string]string{"email": "x@example.com", "password": pw}).
			want(t, 403, engram.EForbidden, "sign-up is closed")
		for i := 0; i < 10; i++ {
			e.call(t, "POST", "/api/auth/login", "", map[string]string{"email": "a@example.com", "password": "wrong password"}).want(t, 401, engram.EUnauthorized)
		}
		r := e.call(t, "POST", "/api/auth/login", "", map[string]string{"email": "a@example.com", "password": "wrong password"}).want(t, 429, engram.ERateLimited)
		if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("Retry-After = %q", ra)
		}
	})
}

// TestBrowserSession: the cookies are HttpOnly and SameSite=Lax (not
// Secure on plain-HTTP loopback); a cookie-authenticated read works; a
// cross-site POST, or one without the CSRF token, is refused; a
// same-origin POST with the token passes; refresh by cookie rotates.
func TestBrowserSession(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		if _, _, err := s.CreateUser(t.Context(), "acme", "ada@example.com", engram.RoleMember, "Ada"); err != nil {
			t.Fatal(err)
		}
		_, pw1, err := s.ResetPassword(t.Context(), "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		login := e.call(t, "POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": pw1}).want(t, 200, "")
		cookies := map[string]*http.Cookie{}
		for _, c := range (&http.Response{Header: login.Header}).Cookies() {
			cookies[c.Name] = c
		}
		for _, name := range []string{"engram_session", "engram_refresh"} {
			c := cookies[name]
			if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
				t.Fatalf("cookie %s = %+v", name, c)
			}
		}
		csrf := cookies["engram_csrf"]
		if csrf == nil || csrf.HttpOnly || csrf.Value == "" {
			t.Fatalf("csrf cookie = %+v", csrf)
		}
		jar := "engram_session=" + cookies["engram_session"].Value + "; engram_csrf=" + csrf.Value
		doc := map[string]any{"documents": []any{map[string]any{"title": "t", "content": "c"}}}
		e.call(t, "GET", "/api/auth/me", "", nil, "Cookie", jar).want(t, 200, "")
		e.call(t, "POST", "/api/documents", "", doc, "Cookie", jar, "Origin", "https://evil.example", "X-CSRF-Token", csrf.Value).
			want(t, 403, engram.EForbidden, "cross-site")
		e.call(t, "POST", "/api/documents", "", doc, "Cookie", jar, "Origin", e.srv.URL).want(t, 403, engram.EForbidden, "X-CSRF-Token")
		e.call(t, "POST", "/api/documents", "", doc, "Cookie", jar, "X-CSRF-Token", csrf.Value).want(t, 403, engram.EForbidden, "Origin")
		e.call(t, "POST", "/api/documents", "", doc, "Cookie", jar, "Origin", e.srv.URL, "X-CSRF-Token", "forged").want(t, 403, engram.EForbidden)
		e.call(t, "POST", "/api/documents", "", doc, "Cookie", jar, "Referer", e.srv.URL+"/app", "X-CSRF-Token", csrf.Value).want(t, 201, "")
		e.call(t, "POST", "/api/documents", "", doc, "Cookie", jar, "Origin", e.srv.URL, "X-CSRF-Token", csrf.Value).want(t, 201, "")
		// Sign-in from another site's page is refused too.
		e.call(t, "POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": pw1}, "Origin", "https://evil.example").
			want(t, 403, engram.EForbidden)

		refreshJar := "engram_refresh=" + cookies["engram_refresh"].Value + "; engram_csrf=" + csrf.Value
		e.call(t, "POST", "/api/auth/refresh", "", nil, "Cookie", refreshJar, "Origin", "https://evil.example", "X-CSRF-Token", csrf.Value).
			want(t, 403, engram.EForbidden)
		e.call(t, "POST", "/api/auth/refresh", "", nil, "Cookie", refreshJar, "Origin", e.srv.URL, "X-CSRF-Token", csrf.Value).want(t, 200, "")
		e.call(t, "GET", "/api/auth/me", "", nil, "Cookie", jar).want(t, 401, engram.EUnauthorized)
	})
}

// TestCORS: a listed origin's preflight is answered with the methods and
// headers and credentials for that origin alone, never "*"; another
// origin's preflight is refused in JSON.
func TestCORS(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s, withSignup(enghttp.SignupClosed, "https://app.example.com"))
		pre := func(origin string) *http.Response {
			req, _ := http.NewRequest("OPTIONS", e.srv.URL+"/api/documents", nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "PATCH")
			req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		ok := pre("https://app.example.com")
		h := ok.Header
		if ok.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
			h.Get("Access-Control-Allow-Credentials") != "true" || h.Get("Access-Control-Allow-Methods") != "GET, POST, PUT, PATCH, DELETE" ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization, Content-Type, X-Tenant, X-Requested-With") {
			t.Fatalf("allowed preflight: %d %v", ok.StatusCode, h)
		}
		bad := pre("https://evil.example")
		if bad.StatusCode != 403 || bad.Header.Get("Access-Control-Allow-Origin") != "" || !strings.HasPrefix(bad.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("refused preflight: %d %v", bad.StatusCode, bad.Header)
		}
		r := e.call(t, "GET", "/api/documents", e.viewer.Secret, nil, "Origin", "https://app.example.com").want(t, 200, "")
		if r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
			t.Errorf("a listed origin's request: %v", r.Header)
		}
		r = e.call(t, "GET", "/api/documents", e.viewer.Secret, nil, "Origin", "https://evil.example").want(t, 200, "")
		if v := r.Header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("another origin's request got Access-Control-Allow-Origin %q", v)
		}
	})
}
