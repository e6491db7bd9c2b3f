package postgres

import (
	"context"
	"time"

	"github.com/engram-kb/engram"
	"github.com/jackc/pgx/v5/pgconn"
)

// userColumns are the columns of a User, in userDest's order.
const userColumns = `u.id::text, u.tenant_id::text, u.email, u.full_name, u.role, u.created_at, u.last_login_at, u.deactivated_at`

// userDest returns the scan destinations of userColumns; fill finishes
// the user after the scan.
func userDest(u *engram.User, role *string) []any {
	return []any{&u.ID, &u.TenantID, &u.Email, &u.FullName, role, &u.CreatedAt, &u.LastLoginAt, &u.DeactivatedAt}
}

func fillUser(u *engram.User, role string) {
	u.Role = engram.Role(role)
	inUTC(&u.CreatedAt, u.LastLoginAt, u.DeactivatedAt)
}

// UserInsert inserts a user.
func (e *executor) UserInsert(ctx context.Context, tenantID string, u engram.UserRow) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "user.insert",
			`INSERT INTO users (tenant_id, id, email, full_name, role, password_hash, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			tenantID, u.ID, u.Email, u.FullName, string(u.Role), u.PasswordHash, ts(u.CreatedAt))
		return err
	})
}

// UserByEmail reads a user of any tenant by email, with the tenant.
func (e *executor) UserByEmail(ctx context.Context, email string) (engram.UserSignIn, bool, error) {
	var r engram.UserSignIn
	var role string
	dest := append(userDest(&r.User, &role), &r.PasswordHash, &r.Tenant.ID, &r.Tenant.Name, &r.Tenant.Slug, &r.TenantActive)
	err := e.run(ctx, "", func(q querier) error {
		return queryRow(ctx, q, "user.by_email",
			`SELECT `+userColumns+`, u.password_hash, t.id::text, t.name, t.slug, t.is_active
			   FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.email = $1`, []any{email}, dest...)
	})
	if isNoRows(err) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	fillUser(&r.User, role)
	return r, true, nil
}

// UserGet reads one user of the tenant.
func (e *executor) UserGet(ctx context.Context, tenantID, id string) (engram.UserRow, bool, error) {
	var r engram.UserRow
	var role string
	err := e.run(ctx, tenantID, func(q querier) error {
		return queryRow(ctx, q, "user.get",
			`SELECT `+userColumns+`, u.password_hash FROM users u WHERE u.tenant_id = $1 AND u.id = $2`,
			[]any{tenantID, id}, append(userDest(&r.User, &role), &r.PasswordHash)...)
	})
	if isNoRows(err) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	fillUser(&r.User, role)
	return r, true, nil
}

// UserList reads the tenant's users, oldest first.
func (e *executor) UserList(ctx context.Context, tenantID string) ([]engram.User, error) {
	out := []engram.User{}
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "user.list",
			`SELECT `+userColumns+` FROM users u WHERE u.tenant_id = $1 ORDER BY u.created_at, u.id`, tenantID)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var u engram.User
			var role string
			if err := rs.Scan(userDest(&u, &role)...); err != nil {
				return translate(err)
			}
			fillUser(&u, role)
			out = append(out, u)
		}
		return translate(rs.Err())
	})
	return out, err
}

// UserUpdate sets an active user's role and name.
func (e *executor) UserUpdate(ctx context.Context, tenantID, id string, p engram.UserPatch) (bool, error) {
	var role, name *string
	if p.Role != nil {
		r := string(*p.Role)
		role = &r
	}
	name = p.FullName
	return e.affected(ctx, tenantID, "user.update",
		`UPDATE users SET role = coalesce($1, role), full_name = coalesce($2, full_name)
		  WHERE tenant_id = $3 AND id = $4 AND deactivated_at IS NULL`, role, name, tenantID, id)
}

// UserSetPassword sets an active user's password hash.
func (e *executor) UserSetPassword(ctx context.Context, tenantID, id, hash string) (bool, error) {
	return e.affected(ctx, tenantID, "user.set_password",
		`UPDATE users SET password_hash = $1 WHERE tenant_id = $2 AND id = $3 AND deactivated_at IS NULL`, hash, tenantID, id)
}

// UserSignedIn notes a sign-in, upgrading the hash when one is given.
func (e *executor) UserSignedIn(ctx context.Context, tenantID, id string, at time.Time, newHash string) error {
	_, err := e.count(ctx, tenantID, "user.signed_in",
		`UPDATE users SET last_login_at = $1, password_hash = coalesce(nullif($2, ''), password_hash)
		  WHERE tenant_id = $3 AND id = $4`, ts(at), newHash, tenantID, id)
	return err
}

// UserDeactivate deactivates an active user.
func (e *executor) UserDeactivate(ctx context.Context, tenantID, id string, at time.Time) (bool, error) {
	return e.affected(ctx, tenantID, "user.deactivate",
		`UPDATE users SET deactivated_at = $1 WHERE tenant_id = $2 AND id = $3 AND deactivated_at IS NULL`, ts(at), tenantID, id)
}

// UserAdminsLocked counts the active admins and locks their rows until
// the transaction ends: a concurrent demotion waits, then counts again.
func (e *executor) UserAdminsLocked(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := e.run(ctx, tenantID, func(q querier) error {
		return queryRow(ctx, q, "user.admins",
			`SELECT count(*) FROM (SELECT id FROM users
			   WHERE tenant_id = $1 AND role = 'admin' AND deactivated_at IS NULL FOR UPDATE) a`, []any{tenantID}, &n)
	})
	return n, err
}

// SessionInsert inserts a session.
func (e *executor) SessionInsert(ctx context.Context, tenantID string, s engram.SessionRow) error {
	_, err := e.count(ctx, tenantID, "session.insert",
		`INSERT INTO sessions (tenant_id, id, user_id, family_id, access_hash, refresh_hash, created_at, access_expires_at, refresh_expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		tenantID, s.ID, s.UserID, s.FamilyID, s.AccessHash, s.RefreshHash, ts(s.CreatedAt), ts(s.AccessExpiresAt), ts(s.RefreshExpiresAt))
	return err
}

// SessionAuthenticate reads a live session by its access token's hash.
func (e *executor) SessionAuthenticate(ctx context.Context, accessHash string) (engram.SessionOwner, bool, error) {
	var o engram.SessionOwner
	var role string
	var settings []byte
	err := e.run(ctx, "", func(q querier) error {
		return queryRow(ctx, q, "session.authenticate",
			`SELECT s.tenant_id::text, s.id::text, s.family_id::text, s.user_id::text, u.role, t.slug, t.settings, s.access_expires_at
			   FROM sessions s
			   JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
			   JOIN tenants t ON t.id = s.tenant_id
			  WHERE s.access_hash = $1 AND s.rotated_at IS NULL AND s.revoked_at IS NULL
			    AND u.deactivated_at IS NULL AND t.is_active`, []any{accessHash},
			&o.TenantID, &o.SessionID, &o.FamilyID, &o.UserID, &role, &o.TenantSlug, &settings, &o.AccessExpiresAt)
	})
	if isNoRows(err) {
		return o, false, nil
	}
	if err != nil {
		return o, false, err
	}
	o.Role, o.TenantSettings = engram.Role(role), settings
	inUTC(&o.AccessExpiresAt)
	return o, true, nil
}

// SessionByRefresh reads a session by its refresh token's hash.
func (e *executor) SessionByRefresh(ctx context.Context, refreshHash string) (engram.RefreshFound, bool, error) {
	var r engram.RefreshFound
	var role string
	dest := append([]any{&r.TenantID, &r.SessionID, &r.FamilyID, &r.RefreshExpiresAt, &r.Spent}, userDest(&r.User, &role)...)
	dest = append(dest, &r.Tenant.ID, &r.Tenant.Name, &r.Tenant.Slug, &r.TenantActive)
	err := e.run(ctx, "", func(q querier) error {
		return queryRow(ctx, q, "session.by_refresh",
			`SELECT s.tenant_id::text, s.id::text, s.family_id::text, s.refresh_expires_at,
			        s.rotated_at IS NOT NULL OR s.revoked_at IS NOT NULL,
			        `+userColumns+`, t.id::text, t.name, t.slug, t.is_active
			   FROM sessions s
			   JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
			   JOIN tenants t ON t.id = s.tenant_id
			  WHERE s.refresh_hash = $1`, []any{refreshHash}, dest...)
	})
	if isNoRows(err) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	fillUser(&r.User, role)
	inUTC(&r.RefreshExpiresAt)
	return r, true, nil
}

// SessionRotate spends a live session's refresh token.
func (e *executor) SessionRotate(ctx context.Context, tenantID, id string, at time.Time) (bool, error) {
	return e.affected(ctx, tenantID, "session.rotate",
		`UPDATE sessions SET rotated_at = $1 WHERE tenant_id = $2 AND id = $3 AND rotated_at IS NULL AND revoked_at IS NULL`,
		ts(at), tenantID, id)
}

// SessionRevokeFamily revokes the family of a session.
func (e *executor) SessionRevokeFamily(ctx context.Context, tenantID, id string, at time.Time) (int, error) {
	return e.count(ctx, tenantID, "session.revoke_family",
		`UPDATE sessions SET revoked_at = $1
		  WHERE tenant_id = $2 AND revoked_at IS NULL
		    AND family_id = (SELECT family_id FROM sessions WHERE tenant_id = $2 AND id = $3)`, ts(at), tenantID, id)
}

// SessionRevokeUser revokes a user's live sessions but one family.
func (e *executor) SessionRevokeUser(ctx context.Context, tenantID, userID, exceptFamily string, at time.Time) (int, error) {
	return e.count(ctx, tenantID, "session.revoke_user",
		`UPDATE sessions SET revoked_at = $1
		  WHERE tenant_id = $2 AND user_id = $3 AND revoked_at IS NULL AND family_id IS DISTINCT FROM nullif($4, '')::uuid`,
		ts(at), tenantID, userID, exceptFamily)
}

// APIKeyRevokeUser revokes a user's keys.
func (e *executor) APIKeyRevokeUser(ctx context.Context, tenantID, userID string, at time.Time) (int, error) {
	return e.count(ctx, tenantID, "apikey.revoke_user",
		`UPDATE api_keys SET revoked_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND revoked_at IS NULL`, ts(at), tenantID, userID)
}

// InvitationInsert inserts an invitation.
func (e *executor) InvitationInsert(ctx context.Context, tenantID string, inv engram.InvitationRow) error {
	_, err := e.count(ctx, tenantID, "invitation.insert",
		`INSERT INTO invitations (tenant_id, id, email, role, token_hash, invited_by, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, nullif($6, '')::uuid, $7, $8)`,
		tenantID, inv.ID, inv.Email, string(inv.Role), inv.TokenHash, inv.InvitedBy, ts(inv.CreatedAt), ts(inv.ExpiresAt))
	return err
}

// InvitationByToken reads an invitation by its token's hash.
func (e *executor) InvitationByToken(ctx context.Context, tokenHash string) (engram.InvitationFound, bool, error) {
	var f engram.InvitationFound
	var role string
	var invitedBy *string
	err := e.run(ctx, "", func(q querier) error {
		return queryRow(ctx, q, "invitation.by_token",
			`SELECT i.tenant_id::text, i.id::text, i.email, i.role, i.invited_by::text, i.created_at, i.expires_at, i.accepted_at,
			        t.id::text, t.name, t.slug, t.is_active
			   FROM invitations i JOIN tenants t ON t.id = i.tenant_id WHERE i.token_hash = $1`, []any{tokenHash},
			&f.TenantID, &f.ID, &f.Email, &role, &invitedBy, &f.CreatedAt, &f.ExpiresAt, &f.AcceptedAt,
			&f.Tenant.ID, &f.Tenant.Name, &f.Tenant.Slug, &f.TenantActive)
	})
	if isNoRows(err) {
		return f, false, nil
	}
	if err != nil {
		return f, false, err
	}
	f.Role, f.TokenHash = engram.Role(role), tokenHash
	if invitedBy != nil {
		f.InvitedBy = *invitedBy
	}
	inUTC(&f.CreatedAt, &f.ExpiresAt, f.AcceptedAt)
	return f, true, nil
}

// InvitationAccept spends an invitation.
func (e *executor) InvitationAccept(ctx context.Context, tenantID, id string, at time.Time) (bool, error) {
	return e.affected(ctx, tenantID, "invitation.accept",
		`UPDATE invitations SET accepted_at = $1
		  WHERE tenant_id = $2 AND id = $3 AND accepted_at IS NULL AND expires_at > $1`, ts(at), tenantID, id)
}

// SigninLimitHit counts an attempt against each bucket. Windows are kept
// in Unix milliseconds, so the window arithmetic is integer arithmetic.
func (e *executor) SigninLimitHit(ctx context.Context, hits []engram.LimitHit, at time.Time, window time.Duration) ([]engram.LimitCount, error) {
	buckets := make([]string, len(hits))
	maxes := make([]int32, len(hits))
	for i, h := range hits {
		buckets[i], maxes[i] = h.Bucket, int32(h.Max)
	}
	var out []engram.LimitCount
	err := e.run(ctx, "", func(q querier) error {
		rs, err := query(ctx, q, "signin.limit",
			`INSERT INTO signin_limits AS l (bucket, window_end_ms, attempts, max_attempts, strikes)
			 SELECT b, $1::bigint + $2::bigint, 1, m, 0 FROM unnest($3::text[], $4::int[]) AS h (b, m)
			 ON CONFLICT (bucket) DO UPDATE SET
			   strikes = CASE WHEN l.window_end_ms > $1 THEN l.strikes
			                  WHEN l.attempts > l.max_attempts THEN least(l.strikes + 1, 10) ELSE 0 END,
			   window_end_ms = CASE WHEN l.window_end_ms > $1 THEN l.window_end_ms
			                  WHEN l.attempts > l.max_attempts THEN $1 + ($2::bigint << least(l.strikes + 1, 10)) ELSE $1 + $2 END,
			   attempts = CASE WHEN l.window_end_ms > $1 THEN l.attempts + 1 ELSE 1 END,
			   max_attempts = excluded.max_attempts
			 RETURNING bucket, attempts, max_attempts, window_end_ms`, at.UnixMilli(), window.Milliseconds(), buckets, maxes)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var c engram.LimitCount
			var end int64
			if err := rs.Scan(&c.Bucket, &c.Attempts, &c.Max, &end); err != nil {
				return translate(err)
			}
			c.WindowEnd = time.UnixMilli(end).UTC()
			out = append(out, c)
		}
		return translate(rs.Err())
	})
	return out, err
}

// affected runs one write and reports whether it changed a row.
func (e *executor) affected(ctx context.Context, tenantID, op, sql string, args ...any) (bool, error) {
	n, err := e.count(ctx, tenantID, op, sql, args...)
	return n > 0, err
}

// count runs one write and returns the rows it changed.
func (e *executor) count(ctx context.Context, tenantID, op, sql string, args ...any) (int, error) {
	var tag pgconn.CommandTag
	err := e.run(ctx, tenantID, func(q querier) error {
		var err error
		tag, err = exec(ctx, q, op, sql, args...)
		return err
	})
	return int(tag.RowsAffected()), err
}
