package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mau.fi/util/dbutil"
)

// ErrExists is returned when a name is already taken.
var ErrExists = errors.New("already exists")

// AdminToken is one named admin API token, as `caldicott admin token list`
// shows it: never its secret, which is kept only as a hash.
type AdminToken struct {
	Name   string
	Scopes []string
	// For is the person it was made for ("" for a system).
	For       string
	CreatedBy string
	CreatedAt time.Time
	// ExpiresAt, LastUsedAt and RevokedAt are zero when not (yet) so.
	ExpiresAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

const adminTokenColumns = `name, scopes, person, created_by, created_at, expires_at, last_used_at, revoked_at`

// CreateAdminToken stores a new token by the hash of its secret, with the
// audit entry recording its creation, in one transaction. ErrExists when
// the name is taken (revoked tokens keep theirs, so the log stays unambiguous).
func (s *Store) CreateAdminToken(ctx context.Context, t AdminToken, hash string, audit AuditEntry) error {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	err := s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		var n int
		if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM admin_token WHERE name = $1`, t.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrExists
		}
		if _, err := s.db.Exec(ctx, `INSERT INTO admin_token (`+adminTokenColumns+`, hash) VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7)`,
			t.Name, strings.Join(t.Scopes, " "), t.For, t.CreatedBy, ms(t.CreatedAt), ms(t.ExpiresAt), hash); err != nil {
			return err
		}
		_, err := s.appendAuditLocked(ctx, audit)
		return err
	})
	if errors.Is(err, ErrExists) {
		return fmt.Errorf("a token named %q: %w", t.Name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create admin token %q: %w", t.Name, err)
	}
	return nil
}

// AdminTokenByHash finds a token by its secret's hash, revoked or not;
// ErrNotFound when there is none.
func (s *Store) AdminTokenByHash(ctx context.Context, hash string) (AdminToken, error) {
	rows, err := s.db.Query(ctx, `SELECT `+adminTokenColumns+` FROM admin_token WHERE hash = $1`, hash)
	if err != nil {
		return AdminToken{}, fmt.Errorf("read admin token: %w", err)
	}
	list, err := scanAdminTokens(rows)
	if err != nil {
		return AdminToken{}, err
	}
	if len(list) == 0 {
		return AdminToken{}, ErrNotFound
	}
	return list[0], nil
}

// AdminTokens lists every token, revoked ones included, by name.
func (s *Store) AdminTokens(ctx context.Context) ([]AdminToken, error) {
	rows, err := s.db.Query(ctx, `SELECT `+adminTokenColumns+` FROM admin_token ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list admin tokens: %w", err)
	}
	return scanAdminTokens(rows)
}

func scanAdminTokens(rows dbutil.Rows) ([]AdminToken, error) {
	defer rows.Close()
	var out []AdminToken
	for rows.Next() {
		var t AdminToken
		var scopes string
		var created, expires, used, revoked int64
		if err := rows.Scan(&t.Name, &scopes, &t.For, &t.CreatedBy, &created, &expires, &used, &revoked); err != nil {
			return nil, fmt.Errorf("scan admin token: %w", err)
		}
		t.Scopes = strings.Fields(scopes)
		t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt = fromMs(created), fromMs(expires), fromMs(used), fromMs(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAdminToken revokes a token by name, with the audit entry recording
// it, in one transaction. ErrNotFound when no token has that name or it
// was revoked already.
func (s *Store) RevokeAdminToken(ctx context.Context, name string, audit AuditEntry) error {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	err := s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		res, err := s.db.Exec(ctx, `UPDATE admin_token SET revoked_at = $1 WHERE name = $2 AND revoked_at = 0`, s.now().UnixMilli(), name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		_, err = s.appendAuditLocked(ctx, audit)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("no token named %q that is not already revoked: %w", name, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("revoke admin token %q: %w", name, err)
	}
	return nil
}

// TouchAdminToken records that a token was used now.
func (s *Store) TouchAdminToken(ctx context.Context, name string) error {
	if _, err := s.db.Exec(ctx, `UPDATE admin_token SET last_used_at = $1 WHERE name = $2`, s.now().UnixMilli(), name); err != nil {
		return fmt.Errorf("note admin token %q used: %w", name, err)
	}
	return nil
}

// ms is t in milliseconds, 0 for the zero time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMs is the time of ms milliseconds, the zero time for 0.
func fromMs(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}
