package http

import (
	"net"
	"net/http"
	"time"

	"github.com/engram-kb/engram"
)

// Users, sign-in sessions and invitations. Sign-up, sign-in, refresh and
// accepting an invitation need no credential; everything else runs for
// an authenticated principal like any endpoint. Managing users and keys
// is an admin's.

// Sign-up policies (Config.Signup).
const (
	// SignupOpen: anyone may sign up (creating an organisation), and
	// admins may invite.
	SignupOpen = "open"
	// SignupInvite: people join only by an admin's invitation.
	SignupInvite = "invite"
	// SignupClosed: nobody joins through the API; accounts are made with
	// `engram user create`.
	SignupClosed = "closed"
)

func (s *Server) accountRoutes() {
	s.mux.HandleFunc("POST /api/auth/signup", s.public(s.signup))
	s.mux.HandleFunc("POST /api/auth/login", s.public(s.login))
	s.mux.HandleFunc("POST /api/auth/refresh", s.public(s.refresh))
	s.mux.HandleFunc("POST /api/auth/accept-invite", s.public(s.acceptInvite))
	s.handle("GET /api/auth/me", canRead, s.me)
	s.handle("POST /api/auth/logout", canRead, s.logout)
	// Changing one's own password is open to every role.
	s.handle("POST /api/auth/password", canRead, s.changePassword)

	s.handle("POST /api/users/invite", canAdmin, s.invite)
	s.handle("GET /api/users", canRead, s.listUsers)
	s.handle("GET /api/users/{id}", canRead, s.getUser)
	s.handle("PATCH /api/users/{id}", canAdmin, s.patchUser)
	s.handle("DELETE /api/users/{id}", canAdmin, s.deleteUser)

	s.handle("GET /api/apikeys", canAdmin, s.listAPIKeys)
	s.handle("POST /api/apikeys", canAdmin, s.createAPIKey)
	s.handle("DELETE /api/apikeys/{id}", canAdmin, s.revokeAPIKey)
}

// public wraps an endpoint that needs no credential: it still refuses a
// cross-site browser request (see checkOrigin).
func (s *Server) public(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.checkOrigin(r, false); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// sessionResponse is the answer of every endpoint that signs in: the
// same shape whether the client keeps the tokens or the browser keeps
// the cookies.
type sessionResponse struct {
	Success bool             `json:"success"`
	Tokens  engram.Tokens    `json:"tokens"`
	User    engram.User      `json:"user"`
	Tenant  engram.TenantRef `json:"tenant"`
}

func (s *Server) respondSession(w http.ResponseWriter, r *http.Request, status int, sess engram.Session) error {
	ri := infoOf(r)
	ri.tenantID, ri.userID = sess.Tenant.ID, sess.User.ID
	s.setSessionCookies(w, r, sess.Tokens)
	return s.respond(w, r, status, sessionResponse{true, sess.Tokens, sess.User, sess.Tenant})
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if s.signupPolicy != SignupOpen {
		return engram.Errorf(engram.EForbidden, "sign-up is %s on this server; ask an admin for an invitation", s.signupPolicy)
	}
	var body struct {
		Email            string `json:"email"`
		Password         string `json:"password"`
		FullName         string `json:"full_name"`
		OrganizationName string `json:"organization_name"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	sess, err := s.store.SignUp(r.Context(), engram.SignUp{Email: body.Email, Password: body.Password,
		FullName: body.FullName, OrganizationName: body.OrganizationName})
	if err != nil {
		return err
	}
	return s.respondSession(w, r, http.StatusCreated, sess)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var body struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	sess, err := s.store.SignIn(r.Context(), body.Email, body.Password, clientAddr(r))
	if err != nil {
		return err
	}
	return s.respondSession(w, r, http.StatusOK, sess)
}

// clientAddr is the address the sign-in limit counts: the connection's
// peer. A proxy's forwarding headers are not trusted, since any client
// can send them.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var body struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := decodeBody(r, &body, bodyOptional); err != nil {
		return err
	}
	token := body.RefreshToken
	if token == "" {
		c, err := r.Cookie(refreshCookie)
		if err != nil || c.Value == "" {
			return engram.Errorf(engram.EUnauthorized, "refresh_token: required (in the body, or the browser's refresh cookie)")
		}
		// The cookie is sent by the browser whoever asks: a state change
		// on its strength needs the CSRF proof.
		if err := s.checkOrigin(r, true); err != nil {
			return err
		}
		token = c.Value
	}
	sess, err := s.store.Refresh(r.Context(), token)
	if err != nil {
		return err
	}
	return s.respondSession(w, r, http.StatusOK, sess)
}

func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if s.signupPolicy == SignupClosed {
		return engram.Errorf(engram.EForbidden, "sign-up is closed on this server; ask an admin to create your account")
	}
	var body struct {
		Token    string `json:"token"`
		Password string `json:"password"`
		FullName string `json:"full_name"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	if body.Token == "" {
		return engram.Errorf(engram.EInvalid, "token: required")
	}
	sess, err := s.store.AcceptInvitation(r.Context(), body.Token, body.Password, body.FullName)
	if err != nil {
		return err
	}
	return s.respondSession(w, r, http.StatusCreated, sess)
}

type userResponse struct {
	Success bool        `json:"success"`
	User    engram.User `json:"user"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	out := struct {
		Success bool             `json:"success"`
		User    *engram.User     `json:"user"`
		Tenant  engram.TenantRef `json:"tenant"`
		Role    engram.Role      `json:"role"`
		KeyID   string           `json:"api_key_id,omitempty"`
	}{Success: true, Role: p.Role, KeyID: p.KeyID}
	t, err := s.store.Tenant(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	out.Tenant = engram.TenantRef{ID: t.ID, Name: t.Name, Slug: t.Slug}
	if p.UserID != "" {
		u, err := s.store.GetUser(r.Context(), p.TenantID, p.UserID)
		if err != nil {
			return err
		}
		out.User = &u
	}
	return s.respond(w, r, http.StatusOK, out)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if err := decodeBody(r, &struct{}{}, bodyOptional); err != nil {
		return err
	}
	if err := s.store.SignOut(r.Context(), p); err != nil {
		return err
	}
	s.clearSessionCookies(w, r)
	return s.respond(w, r, http.StatusOK, struct {
		Success bool `json:"success"`
	}{true})
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var body struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	if err := s.store.ChangePassword(r.Context(), p, body.CurrentPassword, body.NewPassword); err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success bool `json:"success"`
	}{true})
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if s.signupPolicy == SignupClosed {
		return engram.Errorf(engram.EForbidden, "sign-up is closed on this server: invitations cannot be accepted; use `engram user create`, or serve with --signup invite")
	}
	var body struct {
		Email string      `json:"email"`
		Role  engram.Role `json:"role"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	if body.Role == "" {
		body.Role = engram.RoleMember
	}
	inv, err := s.store.Invite(r.Context(), p.TenantID, p.Actor(), body.Email, body.Role)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusCreated, struct {
		Success    bool              `json:"success"`
		Invitation engram.Invitation `json:"invitation"`
		InviteURL  string            `json:"invite_url"`
	}{true, inv, requestOrigin(r) + "/accept-invite?token=" + inv.Token})
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	users, err := s.store.ListUsers(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success bool          `json:"success"`
		Users   []engram.User `json:"users"`
	}{true, users})
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	u, err := s.store.GetUser(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, userResponse{true, u})
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		Role     *engram.Role `json:"role"`
		FullName *string      `json:"full_name"`
	}
	id, err := pathIDAndBody(r, &body, bodyRequired)
	if err != nil {
		return err
	}
	u, err := s.store.UpdateUser(r.Context(), p.TenantID, p.Actor(), id, engram.UserPatch{Role: body.Role, FullName: body.FullName})
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, userResponse{true, u})
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := pathIDAndBody(r, &struct{}{}, bodyOptional)
	if err != nil {
		return err
	}
	if err := s.store.DeactivateUser(r.Context(), p.TenantID, p.Actor(), id); err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success     bool   `json:"success"`
		ID          string `json:"id"`
		Deactivated bool   `json:"deactivated"`
	}{true, id, true})
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	keys, err := s.store.ListAPIKeys(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success bool            `json:"success"`
		APIKeys []engram.APIKey `json:"api_keys"`
	}{true, keys})
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := pathIDAndBody(r, &struct{}{}, bodyOptional)
	if err != nil {
		return err
	}
	if err := s.store.RevokeAPIKey(r.Context(), p.TenantID, p.Actor(), id); err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success bool   `json:"success"`
		ID      string `json:"id"`
		Revoked bool   `json:"revoked"`
	}{true, id, true})
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var body struct {
		Role      engram.Role `json:"role"`
		Name      string      `json:"name"`
		ExpiresAt *time.Time  `json:"expires_at"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	// A key made by a signed-in admin is theirs: it dies with their account.
	key, err := s.store.CreateUserAPIKey(r.Context(), p.TenantID, p.Actor(), p.UserID, body.Role, body.Name, body.ExpiresAt)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusCreated, struct {
		Success bool          `json:"success"`
		APIKey  engram.NewKey `json:"api_key"`
	}{true, key})
}
