package service

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/engram-kb/engram"
)

// Users, their sessions and invitations. Passwords are stored as argon2id
// hashes; session and invitation tokens as SHA-256 (engram.HashKey), as
// API keys are: a token is a 200-bit random secret, so a fast hash is
// enough, and it can be looked up.

// AccountOptions configure accounts. Zero values take the defaults.
type AccountOptions struct {
	// Password are argon2id's costs for new hashes (default
	// DefaultPasswordParams); a stored hash made with weaker ones is
	// replaced at the user's next sign-in.
	Password PasswordParams
	// AccessTTL is an access token's life (default 1 h).
	AccessTTL time.Duration
	// RefreshTTL is a refresh token's life (default 30 days).
	RefreshTTL time.Duration
	// InviteTTL is an invitation's life (default 7 days).
	InviteTTL time.Duration
	// SigninWindow is the sign-in limiter's window (default 1 min);
	// SigninPerEmail and SigninPerAddress the attempts a window admits
	// per email (default 10) and per client address (default 30).
	SigninWindow     time.Duration
	SigninPerEmail   int
	SigninPerAddress int
}

func (o *AccountOptions) defaults() {
	if o.Password == (PasswordParams{}) {
		o.Password = DefaultPasswordParams
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.AccessTTL, time.Hour)
	def(&o.RefreshTTL, 30*24*time.Hour)
	def(&o.InviteTTL, 7*24*time.Hour)
	def(&o.SigninWindow, time.Minute)
	if o.SigninPerEmail <= 0 {
		o.SigninPerEmail = 10
	}
	if o.SigninPerAddress <= 0 {
		o.SigninPerAddress = 30
	}
}

// errSignIn is the one answer to a wrong email, a wrong password and a
// deactivated user: which it was is not told.
func errSignIn() error {
	return engram.Errorf(engram.EUnauthorized, "wrong email or password")
}

// errSession is the answer to a token that does not authenticate.
func errSession() error {
	return engram.Errorf(engram.EUnauthorized, "invalid, expired or revoked session; sign in again")
}

// stamp returns the clock's time as the engines store it.
func (s *Store) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// newSession makes a session of the user in the family ("" starts one)
// and returns its row and the tokens.
func (s *Store) newSession(userID, family string, at time.Time) (engram.SessionRow, engram.Tokens) {
	id := engram.NewID()
	if family == "" {
		family = id
	}
	t := engram.Tokens{AccessToken: engram.NewToken(engram.AccessTokenPrefix), RefreshToken: engram.NewToken(engram.RefreshTokenPrefix),
		ExpiresIn: int(s.acc.AccessTTL / time.Second)}
	return engram.SessionRow{ID: id, UserID: userID, FamilyID: family, AccessHash: engram.HashKey(t.AccessToken),
		RefreshHash: engram.HashKey(t.RefreshToken), CreatedAt: at, AccessExpiresAt: at.Add(s.acc.AccessTTL),
		RefreshExpiresAt: at.Add(s.acc.RefreshTTL)}, t
}

// SignUp creates a tenant, its first admin and their session in one
// transaction of four statements.
func (s *Store) SignUp(ctx context.Context, in engram.SignUp) (engram.Session, error) {
	email := engram.NormalizeEmail(in.Email)
	if err := engram.ValidateEmail(email); err != nil {
		return engram.Session{}, err
	}
	if err := engram.ValidateFullName(in.FullName); err != nil {
		return engram.Session{}, err
	}
	if err := validatePassword("password", in.Password, email); err != nil {
		return engram.Session{}, err
	}
	org := strings.TrimSpace(in.OrganizationName)
	if org == "" {
		org = strings.TrimSpace(in.FullName)
		if org == "" {
			org = strings.SplitN(email, "@", 2)[0]
		}
		org += "'s team"
	}
	// The slug gets a random tail: a sign-up must not learn which
	// organisations exist, nor fail because a name is common.
	slug := strings.Trim(engram.Slugify(org), "-")
	if len(slug) > 50 {
		slug = strings.TrimRight(slug[:50], "-")
	}
	if slug == "" {
		slug = "team"
	}
	slug += "-" + strings.ToLower(engram.NewToken("")[:6])
	if err := engram.ValidateTenant(org, slug); err != nil {
		return engram.Session{}, engram.Errorf(engram.EInvalid, "organization_name: %s", engram.ErrorMessage(err))
	}
	hash := hashPassword(in.Password, s.acc.Password)
	at := s.stamp()
	tn := engram.TenantRef{ID: engram.NewID(), Name: org, Slug: slug}
	u := engram.UserRow{User: engram.User{ID: engram.NewID(), TenantID: tn.ID, Email: email, FullName: strings.TrimSpace(in.FullName),
		Role: engram.RoleAdmin, CreatedAt: at, LastLoginAt: &at}, PasswordHash: hash}
	row, tokens := s.newSession(u.ID, "", at)
	err := s.inTx(ctx, tn.ID, func(tx engram.Tx) error {
		if err := tx.TenantInsert(ctx, tn.ID, tn.Name, tn.Slug, at); err != nil {
			return err
		}
		if err := tx.UserInsert(ctx, tn.ID, u); err != nil {
			return emailTaken(err, email)
		}
		if err := tx.SessionInsert(ctx, tn.ID, row); err != nil {
			return err
		}
		return s.audit(ctx, tx, tn.ID, u.ID, "auth.signup", "user", 1, map[string]any{"id": u.ID, "email": email})
	})
	if err != nil {
		return engram.Session{}, err
	}
	return engram.Session{Tokens: tokens, User: u.User, Tenant: tn, ID: row.ID}, nil
}

// emailTaken turns a unique violation of users into a conflict naming
// the email.
func emailTaken(err error, email string) error {
	if engram.ErrorCode(err) == engram.EConflict {
		return engram.Errorf(engram.EConflict, "email: %s already has an account", email)
	}
	return err
}

// SignIn counts the attempt (one statement), reads the user by email
// (one), checks the password, and on success opens a session in one
// transaction of three statements (note the sign-in, insert the session,
// audit); a wrong password of a known user is audited in its tenant.
func (s *Store) SignIn(ctx context.Context, email, password, client string) (engram.Session, error) {
	email = engram.NormalizeEmail(email)
	if email == "" || password == "" {
		return engram.Session{}, engram.Errorf(engram.EInvalid, "email and password are required")
	}
	if len(password) > maxPasswordBytes || len(email) > 254 {
		return engram.Session{}, errSignIn()
	}
	if err := s.limitSignIn(ctx, email, client); err != nil {
		return engram.Session{}, err
	}
	u, found, err := s.d.Reader().UserByEmail(ctx, email)
	if err != nil {
		return engram.Session{}, err
	}
	s.dummy.Do(func() { s.dummyHash = hashPassword(generatePassword(), s.acc.Password) })
	hash := s.dummyHash
	if found {
		hash = u.PasswordHash
	}
	ok, params := checkPassword(password, hash)
	if !found {
		return engram.Session{}, errSignIn()
	}
	if !ok || u.DeactivatedAt != nil || !u.TenantActive {
		reason := "wrong_password"
		if ok {
			reason = "inactive"
		}
		if err := s.audit(ctx, s.d.Writer(), u.TenantID, u.ID, "auth.signin_failed", "user", 1,
			map[string]any{"id": u.ID, "reason": reason, "client": client}); err != nil {
			return engram.Session{}, err
		}
		return engram.Session{}, errSignIn()
	}
	upgrade := ""
	if params.weaker(s.acc.Password) {
		upgrade = hashPassword(password, s.acc.Password)
	}
	at := s.stamp()
	row, tokens := s.newSession(u.ID, "", at)
	err = s.inTx(ctx, u.TenantID, func(tx engram.Tx) error {
		if err := tx.UserSignedIn(ctx, u.TenantID, u.ID, at, upgrade); err != nil {
			return err
		}
		if err := tx.SessionInsert(ctx, u.TenantID, row); err != nil {
			return err
		}
		return s.audit(ctx, tx, u.TenantID, u.ID, "auth.signin", "session", 1, map[string]any{"id": row.ID, "client": client})
	})
	if err != nil {
		return engram.Session{}, err
	}
	u.LastLoginAt = &at
	return engram.Session{Tokens: tokens, User: u.User, Tenant: u.Tenant, ID: row.ID}, nil
}

// limitSignIn counts a sign-in attempt against the email and the client
// address in one statement, and refuses it when either is over its limit.
func (s *Store) limitSignIn(ctx context.Context, email, client string) error {
	hits := []engram.LimitHit{{Bucket: "email:" + engram.HashKey(email), Max: s.acc.SigninPerEmail}}
	if client != "" {
		hits = append(hits, engram.LimitHit{Bucket: "addr:" + client, Max: s.acc.SigninPerAddress})
	}
	now := s.now()
	counts, err := s.d.Writer().SigninLimitHit(ctx, hits, now, s.acc.SigninWindow)
	if err != nil {
		return err
	}
	wait := time.Duration(0)
	for _, c := range counts {
		if c.Attempts > c.Max && c.WindowEnd.Sub(now) > wait {
			wait = c.WindowEnd.Sub(now)
		}
	}
	if wait <= 0 {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	e := engram.Errorf(engram.ERateLimited, "too many sign-in attempts; try again in %d seconds", secs)
	e.Details = map[string]any{"retry_after": secs}
	return e
}

// authenticateSession resolves an access token in one statement.
// Returns unauthorized.
func (s *Store) authenticateSession(ctx context.Context, token string) (engram.Principal, error) {
	o, ok, err := s.d.Reader().SessionAuthenticate(ctx, engram.HashKey(token))
	if err != nil {
		return engram.Principal{}, err
	}
	if !ok || !s.now().Before(o.AccessExpiresAt) {
		return engram.Principal{}, errSession()
	}
	return o.Principal, nil
}

// Refresh reads the session of the refresh token (one statement) and,
// when it is live, rotates it in one transaction of two statements (spend
// the token, insert the family's next session). A spent token revokes
// its family and is audited (two statements).
func (s *Store) Refresh(ctx context.Context, refreshToken string) (engram.Session, error) {
	if !strings.HasPrefix(refreshToken, engram.RefreshTokenPrefix) {
		return engram.Session{}, errSession()
	}
	f, ok, err := s.d.Reader().SessionByRefresh(ctx, engram.HashKey(refreshToken))
	if err != nil {
		return engram.Session{}, err
	}
	if !ok {
		return engram.Session{}, errSession()
	}
	if f.Spent {
		if err := s.revokeFamily(ctx, f); err != nil {
			return engram.Session{}, err
		}
		return engram.Session{}, errSession()
	}
	at := s.stamp()
	if !at.Before(f.RefreshExpiresAt) || f.User.DeactivatedAt != nil || !f.TenantActive {
		return engram.Session{}, errSession()
	}
	row, tokens := s.newSession(f.User.ID, f.FamilyID, at)
	reused := false
	err = s.inTx(ctx, f.TenantID, func(tx engram.Tx) error {
		live, err := tx.SessionRotate(ctx, f.TenantID, f.SessionID, at)
		if err != nil || !live {
			reused = !live
			return err
		}
		return tx.SessionInsert(ctx, f.TenantID, row)
	})
	if reused {
		// Another request spent the token between the read and the
		// rotation: the same token used twice.
		if err := s.revokeFamily(ctx, f); err != nil {
			return engram.Session{}, err
		}
		return engram.Session{}, errSession()
	}
	if err != nil {
		return engram.Session{}, err
	}
	return engram.Session{Tokens: tokens, User: f.User, Tenant: f.Tenant, ID: row.ID}, nil
}

// revokeFamily revokes the family of a reused refresh token and audits it.
func (s *Store) revokeFamily(ctx context.Context, f engram.RefreshFound) error {
	return s.inTx(ctx, f.TenantID, func(tx engram.Tx) error {
		n, err := tx.SessionRevokeFamily(ctx, f.TenantID, f.SessionID, s.now())
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, f.TenantID, f.User.ID, "auth.refresh_reused", "session", n,
			map[string]any{"family_id": f.FamilyID})
	})
}

// SignOut revokes the caller's session family and audits it, in one
// transaction of two statements.
func (s *Store) SignOut(ctx context.Context, p engram.Principal) error {
	if p.SessionID == "" {
		return engram.Errorf(engram.EInvalid, "this request authenticated with an API key, not a session; revoke the key instead")
	}
	return s.inTx(ctx, p.TenantID, func(tx engram.Tx) error {
		n, err := tx.SessionRevokeFamily(ctx, p.TenantID, p.SessionID, s.now())
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p.TenantID, p.UserID, "auth.signout", "session", n, map[string]any{"id": p.SessionID})
	})
}

// ChangePassword checks the current password (one read), then sets the
// new one and revokes the user's other sessions in one transaction of
// three statements.
func (s *Store) ChangePassword(ctx context.Context, p engram.Principal, current, next string) error {
	if p.UserID == "" {
		return engram.Errorf(engram.EInvalid, "this request authenticated with an API key; a password belongs to a signed-in user")
	}
	u, ok, err := s.d.Reader().UserGet(ctx, p.TenantID, p.UserID)
	if err != nil {
		return err
	}
	if !ok {
		return errSession()
	}
	if err := validatePassword("new_password", next, u.Email); err != nil {
		return err
	}
	if match, _ := checkPassword(current, u.PasswordHash); !match {
		return engram.Errorf(engram.EUnauthorized, "current_password: wrong password")
	}
	hash := hashPassword(next, s.acc.Password)
	return s.inTx(ctx, p.TenantID, func(tx engram.Tx) error {
		if ok, err := tx.UserSetPassword(ctx, p.TenantID, p.UserID, hash); err != nil || !ok {
			if err == nil {
				err = errSession()
			}
			return err
		}
		n, err := tx.SessionRevokeUser(ctx, p.TenantID, p.UserID, p.FamilyID, s.now())
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p.TenantID, p.UserID, "auth.password_change", "user", 1,
			map[string]any{"id": p.UserID, "sessions_revoked": n})
	})
}

// Invite makes an invitation in one transaction of two statements (the
// invitation, its audit row), after one read that the email is free.
func (s *Store) Invite(ctx context.Context, tenantID, actor, email string, role engram.Role) (engram.Invitation, error) {
	email = engram.NormalizeEmail(email)
	if err := engram.ValidateEmail(email); err != nil {
		return engram.Invitation{}, err
	}
	if !role.Valid() {
		return engram.Invitation{}, engram.Errorf(engram.EInvalid, "role: %q is not one of admin, member, viewer", role)
	}
	if _, taken, err := s.d.Reader().UserByEmail(ctx, email); err != nil || taken {
		if err == nil {
			err = engram.Errorf(engram.EConflict, "email: %s already has an account", email)
		}
		return engram.Invitation{}, err
	}
	at := s.stamp()
	inv := engram.Invitation{ID: engram.NewID(), Email: email, Role: role, Token: engram.NewToken(engram.InvitationTokenPrefix),
		ExpiresAt: at.Add(s.acc.InviteTTL)}
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		if err := tx.InvitationInsert(ctx, tenantID, engram.InvitationRow{ID: inv.ID, Email: email, Role: role,
			TokenHash: engram.HashKey(inv.Token), InvitedBy: actor, CreatedAt: at, ExpiresAt: inv.ExpiresAt}); err != nil {
			return err
		}
		return s.audit(ctx, tx, tenantID, actor, "users.invite", "invitation", 1,
			map[string]any{"id": inv.ID, "email": email, "role": role})
	})
	if err != nil {
		return engram.Invitation{}, err
	}
	return inv, nil
}

// InviteBySlug is Invite from the command line.
func (s *Store) InviteBySlug(ctx context.Context, tenantSlug, email string, role engram.Role) (engram.Invitation, error) {
	t, err := s.TenantBySlug(ctx, tenantSlug)
	if err != nil {
		return engram.Invitation{}, err
	}
	return s.Invite(ctx, t.ID, "", email, role)
}

// AcceptInvitation reads the invitation (one statement) and, when it is
// unused and unexpired, spends it, creates the user and their session and
// audits it in one transaction of four statements.
func (s *Store) AcceptInvitation(ctx context.Context, token, password, fullName string) (engram.Session, error) {
	if !strings.HasPrefix(token, engram.InvitationTokenPrefix) {
		return engram.Session{}, engram.Errorf(engram.ENotFound, "token: no such invitation")
	}
	f, ok, err := s.d.Reader().InvitationByToken(ctx, engram.HashKey(token))
	if err != nil {
		return engram.Session{}, err
	}
	if !ok || !f.TenantActive {
		return engram.Session{}, engram.Errorf(engram.ENotFound, "token: no such invitation")
	}
	at := s.stamp()
	if f.AcceptedAt != nil {
		return engram.Session{}, engram.Errorf(engram.EConflict, "token: this invitation was already accepted")
	}
	if !at.Before(f.ExpiresAt) {
		return engram.Session{}, engram.Errorf(engram.EInvalid, "token: this invitation expired at %s; ask for a new one", f.ExpiresAt.Format(time.RFC3339))
	}
	if err := engram.ValidateFullName(fullName); err != nil {
		return engram.Session{}, err
	}
	if err := validatePassword("password", password, f.Email); err != nil {
		return engram.Session{}, err
	}
	u := engram.UserRow{User: engram.User{ID: engram.NewID(), TenantID: f.TenantID, Email: f.Email, FullName: strings.TrimSpace(fullName),
		Role: f.Role, CreatedAt: at, LastLoginAt: &at}, PasswordHash: hashPassword(password, s.acc.Password)}
	row, tokens := s.newSession(u.ID, "", at)
	err = s.inTx(ctx, f.TenantID, func(tx engram.Tx) error {
		ok, err := tx.InvitationAccept(ctx, f.TenantID, f.ID, at)
		if err != nil {
			return err
		}
		if !ok {
			return engram.Errorf(engram.EConflict, "token: this invitation was already accepted or has expired")
		}
		if err := tx.UserInsert(ctx, f.TenantID, u); err != nil {
			return emailTaken(err, f.Email)
		}
		if err := tx.SessionInsert(ctx, f.TenantID, row); err != nil {
			return err
		}
		return s.audit(ctx, tx, f.TenantID, u.ID, "users.invitation_accepted", "user", 1,
			map[string]any{"id": u.ID, "invitation_id": f.ID, "role": f.Role})
	})
	if err != nil {
		return engram.Session{}, err
	}
	return engram.Session{Tokens: tokens, User: u.User, Tenant: f.Tenant, ID: row.ID}, nil
}

// CreateUser makes a user with a generated password, from the command
// line: one read of the tenant, then one transaction of two statements.
func (s *Store) CreateUser(ctx context.Context, tenantSlug, email string, role engram.Role, fullName string) (engram.User, string, error) {
	email = engram.NormalizeEmail(email)
	if err := engram.ValidateEmail(email); err != nil {
		return engram.User{}, "", err
	}
	if !role.Valid() {
		return engram.User{}, "", engram.Errorf(engram.EInvalid, "role: %q is not one of admin, member, viewer", role)
	}
	if err := engram.ValidateFullName(fullName); err != nil {
		return engram.User{}, "", err
	}
	t, err := s.TenantBySlug(ctx, tenantSlug)
	if err != nil {
		return engram.User{}, "", err
	}
	pw := generatePassword()
	u := engram.UserRow{User: engram.User{ID: engram.NewID(), TenantID: t.ID, Email: email, FullName: strings.TrimSpace(fullName),
		Role: role, CreatedAt: s.stamp()}, PasswordHash: hashPassword(pw, s.acc.Password)}
	err = s.inTx(ctx, t.ID, func(tx engram.Tx) error {
		if err := tx.UserInsert(ctx, t.ID, u); err != nil {
			return emailTaken(err, email)
		}
		return s.audit(ctx, tx, t.ID, "", "users.create", "user", 1, map[string]any{"id": u.ID, "email": email, "role": role})
	})
	if err != nil {
		return engram.User{}, "", err
	}
	return u.User, pw, nil
}

// ResetPassword sets a generated password and revokes the user's
// sessions: one read, then one transaction of three statements.
func (s *Store) ResetPassword(ctx context.Context, email string) (engram.User, string, error) {
	email = engram.NormalizeEmail(email)
	u, ok, err := s.d.Reader().UserByEmail(ctx, email)
	if err != nil {
		return engram.User{}, "", err
	}
	if !ok || u.DeactivatedAt != nil {
		return engram.User{}, "", engram.Errorf(engram.ENotFound, "email: no active user with email %s", email)
	}
	pw := generatePassword()
	hash := hashPassword(pw, s.acc.Password)
	err = s.inTx(ctx, u.TenantID, func(tx engram.Tx) error {
		if ok, err := tx.UserSetPassword(ctx, u.TenantID, u.ID, hash); err != nil || !ok {
			if err == nil {
				err = engram.Errorf(engram.ENotFound, "email: no active user with email %s", email)
			}
			return err
		}
		n, err := tx.SessionRevokeUser(ctx, u.TenantID, u.ID, "", s.now())
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, u.TenantID, "", "users.password_reset", "user", 1, map[string]any{"id": u.ID, "sessions_revoked": n})
	})
	if err != nil {
		return engram.User{}, "", err
	}
	return u.User, pw, nil
}

// ListUsers lists the tenant's users in one statement.
func (s *Store) ListUsers(ctx context.Context, tenantID string) ([]engram.User, error) {
	return s.d.Reader().UserList(ctx, tenantID)
}

// GetUser reads one user in one statement. Returns not_found.
func (s *Store) GetUser(ctx context.Context, tenantID, id string) (engram.User, error) {
	if _, ok := engram.ParseID(id); !ok {
		return engram.User{}, userNotFound(id)
	}
	u, ok, err := s.d.Reader().UserGet(ctx, tenantID, id)
	if err != nil {
		return engram.User{}, err
	}
	if !ok {
		return engram.User{}, userNotFound(id)
	}
	return u.User, nil
}

func userNotFound(id string) error { return engram.Errorf(engram.ENotFound, "user %s not found", id) }

// UpdateUser changes a user's role or name in one transaction of four
// statements: read the user, count (and lock) the admins, update, audit.
func (s *Store) UpdateUser(ctx context.Context, tenantID, actor, id string, p engram.UserPatch) (engram.User, error) {
	if _, ok := engram.ParseID(id); !ok {
		return engram.User{}, userNotFound(id)
	}
	if p.Role != nil && !p.Role.Valid() {
		return engram.User{}, engram.Errorf(engram.EInvalid, "role: %q is not one of admin, member, viewer", *p.Role)
	}
	if p.FullName != nil {
		n := strings.TrimSpace(*p.FullName)
		if err := engram.ValidateFullName(n); err != nil {
			return engram.User{}, err
		}
		p.FullName = &n
	}
	if p.Role == nil && p.FullName == nil {
		return engram.User{}, engram.Errorf(engram.EInvalid, "give role or full_name to change")
	}
	var out engram.User
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		u, err := s.lastAdminCheck(ctx, tx, tenantID, id, p.Role != nil && *p.Role != engram.RoleAdmin, "demote")
		if err != nil {
			return err
		}
		if ok, err := tx.UserUpdate(ctx, tenantID, id, p); err != nil || !ok {
			if err == nil {
				err = userNotFound(id)
			}
			return err
		}
		details := map[string]any{"id": id}
		if p.Role != nil && *p.Role != u.Role {
			details["role"], details["previous_role"] = *p.Role, u.Role
		}
		if p.FullName != nil {
			details["full_name_changed"] = true
		}
		out = u.User
		if p.Role != nil {
			out.Role = *p.Role
		}
		if p.FullName != nil {
			out.FullName = *p.FullName
		}
		action := "users.update"
		if _, changed := details["role"]; changed {
			action = "users.role_change"
		}
		return s.audit(ctx, tx, tenantID, actor, action, "user", 1, details)
	})
	return out, err
}

// lastAdminCheck reads an active user in tx and, when the change would
// take away an admin (losesAdmin) and they are the tenant's last active
// admin, refuses it: two statements (the user, the locked admin count).
func (s *Store) lastAdminCheck(ctx context.Context, tx engram.Tx, tenantID, id string, losesAdmin bool, verb string) (engram.UserRow, error) {
	u, ok, err := tx.UserGet(ctx, tenantID, id)
	if err != nil {
		return u, err
	}
	if !ok || u.DeactivatedAt != nil {
		return u, userNotFound(id)
	}
	n, err := tx.UserAdminsLocked(ctx, tenantID)
	if err != nil {
		return u, err
	}
	if losesAdmin && u.Role == engram.RoleAdmin && n <= 1 {
		return u, engram.Errorf(engram.EConflict, "cannot %s %s: they are the last admin of the organisation; make another admin first", verb, u.Email)
	}
	return u, nil
}

// DeactivateUser deactivates a user and revokes their sessions and keys
// at once, in one transaction of six statements: read the user, count
// (and lock) the admins, deactivate, revoke sessions, revoke keys, audit.
func (s *Store) DeactivateUser(ctx context.Context, tenantID, actor, id string) error {
	if _, ok := engram.ParseID(id); !ok {
		return userNotFound(id)
	}
	return s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		if _, err := s.lastAdminCheck(ctx, tx, tenantID, id, true, "remove"); err != nil {
			return err
		}
		at := s.now()
		if ok, err := tx.UserDeactivate(ctx, tenantID, id, at); err != nil || !ok {
			if err == nil {
				err = userNotFound(id)
			}
			return err
		}
		sessions, err := tx.SessionRevokeUser(ctx, tenantID, id, "", at)
		if err != nil {
			return err
		}
		keys, err := tx.APIKeyRevokeUser(ctx, tenantID, id, at)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, tenantID, actor, "users.deactivate", "user", 1,
			map[string]any{"id": id, "sessions_revoked": sessions, "keys_revoked": keys})
	})
}
