package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
)

// userColumns are the columns of a User, in scanUser's order.
const userColumns = `u.id, u.tenant_id, u.email, u.full_name, u.role, u.created_at, u.last_login_at, u.deactivated_at`

// userScan holds the text columns of a user until they are parsed.
type userScan struct {
	role, created      string
	lastLogin, deactiv sql.NullString
}

func (s *userScan) dest(u *engram.User) []any {
	return []any{&u.ID, &u.TenantID, &u.Email, &u.FullName, &s.role, &s.created, &s.lastLogin, &s.deactiv}
}

func (s *userScan) fill(u *engram.User) {
	u.Role, u.CreatedAt = engram.Role(s.role), parseTime(s.created)
	u.LastLoginAt, u.DeactivatedAt = parseTimePtr(s.lastLogin), parseTimePtr(s.deactiv)
}

// UserInsert inserts a user.
func (e *executor) UserInsert(ctx context.Context, tenantID string, u engram.UserRow) error {
	_, err := exec(ctx, e.q, "user.insert",
		`INSERT INTO users (tenant_id, id, email, full_name, role, password_hash, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?)`,
		tenantID, u.ID, u.Email, u.FullName, string(u.Role), u.PasswordHash, fmtTime(u.CreatedAt))
	return err
}

// UserByEmail reads a user of any tenant by email, with the tenant.
func (e *executor) UserByEmail(ctx context.Context, email string) (engram.UserSignIn, bool, error) {
	var r engram.UserSignIn
	var sc userScan
	dest := append(sc.dest(&r.User), &r.PasswordHash, &r.Tenant.ID, &r.Tenant.Name, &r.Tenant.Slug, &r.TenantActive)
	err := queryRow(ctx, e.q, "user.by_email",
		`SELECT `+userColumns+`, u.password_hash, t.id, t.name, t.slug, t.is_active
		   FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.email = ?`, email).Scan(dest...)
	if isNoRows(err) {
		return r, false, nil
	}
	if err != nil {
		return r, false, translate(err)
	}
	sc.fill(&r.User)
	return r, true, nil
}

// UserGet reads one user of the tenant.
func (e *executor) UserGet(ctx context.Context, tenantID, id string) (engram.UserRow, bool, error) {
	var r engram.UserRow
	var sc userScan
	err := queryRow(ctx, e.q, "user.get",
		`SELECT `+userColumns+`, u.password_hash FROM users u WHERE u.tenant_id = ? AND u.id = ?`,
		tenantID, id).Scan(append(sc.dest(&r.User), &r.PasswordHash)...)
	if isNoRows(err) {
		return r, false, nil
	}
	if err != nil {
		return r, false, translate(err)
	}
	sc.fill(&r.User)
	return r, true, nil
}

// UserList reads the tenant's users, oldest first.
func (e *executor) UserList(ctx context.Context, tenantID string) ([]engram.User, error) {
	rs, err := query(ctx, e.q, "user.list",
		`SELECT `+userColumns+` FROM users u WHERE u.tenant_id = ? ORDER BY u.created_at, u.id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []engram.User{}
	for rs.Next() {
		var u engram.User
		var sc userScan
		if err := rs.Scan(sc.dest(&u)...); err != nil {
			return nil, translate(err)
		}
		sc.fill(&u)
		out = append(out, u)
	}
	return out, translate(rs.Err())
}

// UserUpdate sets an active user's role and name.
func (e *executor) UserUpdate(ctx context.Context, tenantID, id string, p engram.UserPatch) (bool, error) {
	var role, name any
	if p.Role != nil {
		role = string(*p.Role)
	}
	if p.FullName != nil {
		name = *p.FullName
	}
	res, err := exec(ctx, e.q, "user.update",
		`UPDATE users SET role = coalesce(?, role), full_name = coalesce(?, full_name)
		  WHERE tenant_id = ? AND id = ? AND deactivated_at IS NULL`, role, name, tenantID, id)
	return affected(res, err)
}

// UserSetPassword sets an active user's password hash.
func (e *executor) UserSetPassword(ctx context.Context, tenantID, id, hash string) (bool, error) {
	res, err := exec(ctx, e.q, "user.set_password",
		`UPDATE users SET password_hash = ? WHERE tenant_id = ? AND id = ? AND deactivated_at IS NULL`, hash, tenantID, id)
	return affected(res, err)
}

// UserSignedIn notes a sign-in, upgrading the hash when one is given.
func (e *executor) UserSignedIn(ctx context.Context, tenantID, id string, at time.Time, newHash string) error {
	_, err := exec(ctx, e.q, "user.signed_in",
		`UPDATE users SET last_login_at = ?, password_hash = coalesce(nullif(?, ''), password_hash)
		  WHERE tenant_id = ? AND id = ?`, fmtTime(at), newHash, tenantID, id)
	return err
}

// UserDeactivate deactivates an active user.
func (e *executor) UserDeactivate(ctx context.Context, tenantID, id string, at time.Time) (bool, error) {
	res, err := exec(ctx, e.q, "user.deactivate",
		`UPDATE users SET deactivated_at = ? WHERE tenant_id = ? AND id = ? AND deactivated_at IS NULL`, fmtTime(at), tenantID, id)
	return affected(res, err)
}

// UserAdminsLocked counts the active admins; SQLite's one writer already
// serialises the transactions that could race.
func (e *executor) UserAdminsLocked(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := queryRow(ctx, e.q, "user.admins",
		`SELECT count(*) FROM users WHERE tenant_id = ? AND role = 'admin' AND deactivated_at IS NULL`, tenantID).Scan(&n)
	return n, translate(err)
}

// SessionInsert inserts a session.
func (e *executor) SessionInsert(ctx context.Context, tenantID string, s engram.SessionRow) error {
	_, err := exec(ctx, e.q, "session.insert",
		`INSERT INTO sessions (tenant_id, id, user_id, family_id, access_hash, refresh_hash, created_at, access_expires_at, refresh_expires_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tenantID, s.ID, s.UserID, s.FamilyID, s.AccessHash, s.RefreshHash, fmtTime(s.CreatedAt),
		fmtTime(s.AccessExpiresAt), fmtTime(s.RefreshExpiresAt))
	return err
}

// SessionAuthenticate reads a live session by its access token's hash.
func (e *executor) SessionAuthenticate(ctx context.Context, accessHash string) (engram.SessionOwner, bool, error) {
	var o engram.SessionOwner
	var role, settings, expires string
	err := queryRow(ctx, e.q, "session.authenticate",
		`SELECT s.tenant_id, s.id, s.family_id, s.user_id, u.role, t.slug, t.settings, s.access_expires_at
		   FROM sessions s
		   JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
		   JOIN tenants t ON t.id = s.tenant_id
		  WHERE s.access_hash = ? AND s.rotated_at IS NULL AND s.revoked_at IS NULL
		    AND u.deactivated_at IS NULL AND t.is_active = 1`, accessHash).
		Scan(&o.TenantID, &o.SessionID, &o.FamilyID, &o.UserID, &role, &o.TenantSlug, &settings, &expires)
	if isNoRows(err) {
		return o, false, nil
	}
	if err != nil {
		return o, false, translate(err)
	}
	o.Role, o.TenantSettings, o.AccessExpiresAt = engram.Role(role), json.RawMessage(settings), parseTime(expires)
	return o, true, nil
}

// SessionByRefresh reads a session by its refresh token's hash.
func (e *executor) SessionByRefresh(ctx context.Context, refreshHash string) (engram.RefreshFound, bool, error) {
	var r engram.RefreshFound
	var sc userScan
	var expires string
	dest := append([]any{&r.TenantID, &r.SessionID, &r.FamilyID, &expires, &r.Spent}, sc.dest(&r.User)...)
	dest = append(dest, &r.Tenant.ID, &r.Tenant.Name, &r.Tenant.Slug, &r.TenantActive)
	err := queryRow(ctx, e.q, "session.by_refresh",
		`SELECT s.tenant_id, s.id, s.family_id, s.refresh_expires_at, s.rotated_at IS NOT NULL OR s.revoked_at IS NOT NULL,
		        `+userColumns+`, t.id, t.name, t.slug, t.is_active
		   FROM sessions s
		   JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
		   JOIN tenants t ON t.id = s.tenant_id
		  WHERE s.refresh_hash = ?`, refreshHash).Scan(dest...)
	if isNoRows(err) {
		return r, false, nil
	}
	if err != nil {
		return r, false, translate(err)
	}
	sc.fill(&r.User)
	r.RefreshExpiresAt = parseTime(expires)
	return r, true, nil
}

// SessionRotate spends a live session's refresh token.
func (e *executor) SessionRotate(ctx context.Context, tenantID, id string, at time.Time) (bool, error) {
	res, err := exec(ctx, e.q, "session.rotate",
		`UPDATE sessions SET rotated_at = ? WHERE tenant_id = ? AND id = ? AND rotated_at IS NULL AND revoked_at IS NULL`,
		fmtTime(at), tenantID, id)
	return affected(res, err)
}

// SessionRevokeFamily revokes the family of a session.
func (e *executor) SessionRevokeFamily(ctx context.Context, tenantID, id string, at time.Time) (int, error) {
	res, err := exec(ctx, e.q, "session.revoke_family",
		`UPDATE sessions SET revoked_at = ?
		  WHERE tenant_id = ? AND revoked_at IS NULL
		    AND family_id = (SELECT family_id FROM sessions WHERE tenant_id = ? AND id = ?)`,
		fmtTime(at), tenantID, tenantID, id)
	return count(res, err)
}

// SessionRevokeUser revokes a user's live sessions but one family.
func (e *executor) SessionRevokeUser(ctx context.Context, tenantID, userID, exceptFamily string, at time.Time) (int, error) {
	res, err := exec(ctx, e.q, "session.revoke_user",
		`UPDATE sessions SET revoked_at = ?
		  WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL AND family_id <> ?`,
		fmtTime(at), tenantID, userID, exceptFamily)
	return count(res, err)
}

// APIKeyRevokeUser revokes a user's keys.
func (e *executor) APIKeyRevokeUser(ctx context.Context, tenantID, userID string, at time.Time) (int, error) {
	res, err := exec(ctx, e.q, "apikey.revoke_user",
		`UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL`,
		fmtTime(at), tenantID, userID)
	return count(res, err)
}

// InvitationInsert inserts an invitation.
func (e *executor) InvitationInsert(ctx context.Context, tenantID string, inv engram.InvitationRow) error {
	_, err := exec(ctx, e.q, "invitation.insert",
		`INSERT INTO invitations (tenant_id, id, email, role, token_hash, invited_by, created_at, expires_at)
		 VALUES (?, ?, ?, ?, ?, nullif(?, ''), ?, ?)`,
		tenantID, inv.ID, inv.Email, string(inv.Role), inv.TokenHash, inv.InvitedBy, fmtTime(inv.CreatedAt), fmtTime(inv.ExpiresAt))
	return err
}

// InvitationByToken reads an invitation by its token's hash.
func (e *executor) InvitationByToken(ctx context.Context, tokenHash string) (engram.InvitationFound, bool, error) {
	var f engram.InvitationFound
	var role, created, expires string
	var invitedBy, accepted sql.NullString
	err := queryRow(ctx, e.q, "invitation.by_token",
		`SELECT i.tenant_id, i.id, i.email, i.role, i.invited_by, i.created_at, i.expires_at, i.accepted_at,
		        t.id, t.name, t.slug, t.is_active
		   FROM invitations i JOIN tenants t ON t.id = i.tenant_id WHERE i.token_hash = ?`, tokenHash).
		Scan(&f.TenantID, &f.ID, &f.Email, &role, &invitedBy, &created, &expires, &accepted,
			&f.Tenant.ID, &f.Tenant.Name, &f.Tenant.Slug, &f.TenantActive)
	if isNoRows(err) {
		return f, false, nil
	}
	if err != nil {
		return f, false, translate(err)
	}
	f.Role, f.InvitedBy, f.TokenHash = engram.Role(role), invitedBy.String, tokenHash
	f.CreatedAt, f.ExpiresAt, f.AcceptedAt = parseTime(created), parseTime(expires), parseTimePtr(accepted)
	return f, true, nil
}

// InvitationAccept spends an invitation.
func (e *executor) InvitationAccept(ctx context.Context, tenantID, id string, at time.Time) (bool, error) {
	res, err := exec(ctx, e.q, "invitation.accept",
		`UPDATE invitations SET accepted_at = ?1
		  WHERE tenant_id = ?2 AND id = ?3 AND accepted_at IS NULL AND expires_at > ?1`, fmtTime(at), tenantID, id)
	return affected(res, err)
}

// SigninLimitHit counts an attempt against each bucket. Windows are kept
// in Unix milliseconds, so the window arithmetic is integer arithmetic.
func (e *executor) SigninLimitHit(ctx context.Context, hits []engram.LimitHit, at time.Time, window time.Duration) ([]engram.LimitCount, error) {
	b, err := json.Marshal(hits)
	if err != nil {
		return nil, err
	}
	now, w := at.UnixMilli(), window.Milliseconds()
	rs, err := query(ctx, e.q, "signin.limit",
		`INSERT INTO signin_limits AS l (bucket, window_end_ms, attempts, max_attempts, strikes)
		 SELECT json_extract(value, '$.Bucket'), ?1 + ?2, 1, json_extract(value, '$.Max'), 0 FROM json_each(?3) WHERE true
		 ON CONFLICT (bucket) DO UPDATE SET
		   strikes = CASE WHEN l.window_end_ms > ?1 THEN l.strikes
		                  WHEN l.attempts > l.max_attempts THEN min(l.strikes + 1, 10) ELSE 0 END,
		   window_end_ms = CASE WHEN l.window_end_ms > ?1 THEN l.window_end_ms
		                  WHEN l.attempts > l.max_attempts THEN ?1 + (?2 << min(l.strikes + 1, 10)) ELSE ?1 + ?2 END,
		   attempts = CASE WHEN l.window_end_ms > ?1 THEN l.attempts + 1 ELSE 1 END,
		   max_attempts = excluded.max_attempts
		 RETURNING bucket, attempts, max_attempts, window_end_ms`, now, w, string(b))
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []engram.LimitCount
	for rs.Next() {
		var c engram.LimitCount
		var end int64
		if err := rs.Scan(&c.Bucket, &c.Attempts, &c.Max, &end); err != nil {
			return nil, translate(err)
		}
		c.WindowEnd = time.UnixMilli(end).UTC()
		out = append(out, c)
	}
	return out, translate(rs.Err())
}

// affected reports whether a statement changed a row.
func affected(res sql.Result, err error) (bool, error) {
	n, err := count(res, err)
	return n > 0, err
}

// count returns the rows a statement changed.
func count(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
