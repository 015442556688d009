package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SignInCode is a one-time sign-in code as stored: only hashes.
type SignInCode struct {
	UserID string
	// CodeHash is the hash of the code bound to the browser that asked.
	CodeHash  string
	CreatedAt time.Time
	ExpiresAt time.Time
	// Attempts counts wrong codes tried against it.
	Attempts int
	// UsedAt is zero until it is used.
	UsedAt time.Time
}

// PutSignInCode stores the code a browser (pending, the hash of its
// cookie's secret) asked for, replacing any it asked for before, and
// drops codes that expired more than a day ago.
func (s *Store) PutSignInCode(ctx context.Context, pending string, c SignInCode) error {
	err := s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		if _, err := s.db.Exec(ctx, `DELETE FROM admin_signin_code WHERE expires_at < $1`, s.now().Add(-24*time.Hour).UnixMilli()); err != nil {
			return err
		}
		_, err := s.db.Exec(ctx, `INSERT INTO admin_signin_code (pending, user_id, code_hash, created_at, expires_at, attempts, used_at) VALUES ($1, $2, $3, $4, $5, 0, 0)
			ON CONFLICT (pending) DO UPDATE SET user_id = excluded.user_id, code_hash = excluded.code_hash, created_at = excluded.created_at,
			expires_at = excluded.expires_at, attempts = 0, used_at = 0`,
			pending, c.UserID, c.CodeHash, ms(c.CreatedAt), ms(c.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("store a sign-in code: %w", err)
	}
	return nil
}

// SignInCodeFor is the code a browser asked for; ErrNotFound when none.
func (s *Store) SignInCodeFor(ctx context.Context, pending string) (SignInCode, error) {
	var c SignInCode
	var created, expires, used int64
	err := s.db.QueryRow(ctx, `SELECT user_id, code_hash, created_at, expires_at, attempts, used_at FROM admin_signin_code WHERE pending = $1`, pending).
		Scan(&c.UserID, &c.CodeHash, &created, &expires, &c.Attempts, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("read a sign-in code: %w", err)
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt = fromMs(created), fromMs(expires), fromMs(used)
	return c, nil
}

// FailSignInCode counts a wrong code tried against a browser's code.
func (s *Store) FailSignInCode(ctx context.Context, pending string) error {
	if _, err := s.db.Exec(ctx, `UPDATE admin_signin_code SET attempts = attempts + 1 WHERE pending = $1`, pending); err != nil {
		return fmt.Errorf("count a wrong sign-in code: %w", err)
	}
	return nil
}

// UseSignInCode marks a browser's code used, if it is unused, unexpired
// and has had fewer than maxAttempts wrong tries; false when it was not
// (so two requests racing with the same code sign in once).
func (s *Store) UseSignInCode(ctx context.Context, pending string, maxAttempts int) (bool, error) {
	now := s.now().UnixMilli()
	res, err := s.db.Exec(ctx, `UPDATE admin_signin_code SET used_at = $1 WHERE pending = $2 AND used_at = 0 AND expires_at > $1 AND attempts < $3`, now, pending, maxAttempts)
	if err != nil {
		return false, fmt.Errorf("use a sign-in code: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("use a sign-in code: %w", err)
	}
	return n == 1, nil
}

// AdminSession is a signed-in IG admin's session as stored (by the hash
// of its cookie's secret).
type AdminSession struct {
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end, whatever the activity.
	ExpiresAt time.Time
	// EndedAt is zero while it has not been ended (sign-out, expiry).
	EndedAt time.Time
}

// CreateAdminSession stores a new session, and drops sessions that ended
// or expired more than a day ago.
func (s *Store) CreateAdminSession(ctx context.Context, hash string, a AdminSession) error {
	err := s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		if _, err := s.db.Exec(ctx, `DELETE FROM admin_session WHERE expires_at < $1`, s.now().Add(-24*time.Hour).UnixMilli()); err != nil {
			return err
		}
		_, err := s.db.Exec(ctx, `INSERT INTO admin_session (hash, user_id, created_at, last_seen_at, expires_at, ended_at) VALUES ($1, $2, $3, $4, $5, 0)`,
			hash, a.UserID, ms(a.CreatedAt), ms(a.LastSeenAt), ms(a.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("store an admin session: %w", err)
	}
	return nil
}

// AdminSessionByHash reads a session; ErrNotFound when there is none.
func (s *Store) AdminSessionByHash(ctx context.Context, hash string) (AdminSession, error) {
	var a AdminSession
	var created, seen, expires, ended int64
	err := s.db.QueryRow(ctx, `SELECT user_id, created_at, last_seen_at, expires_at, ended_at FROM admin_session WHERE hash = $1`, hash).
		Scan(&a.UserID, &created, &seen, &expires, &ended)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("read an admin session: %w", err)
	}
	a.CreatedAt, a.LastSeenAt, a.ExpiresAt, a.EndedAt = fromMs(created), fromMs(seen), fromMs(expires), fromMs(ended)
	return a, nil
}

// TouchAdminSession records activity on a session now.
func (s *Store) TouchAdminSession(ctx context.Context, hash string) error {
	if _, err := s.db.Exec(ctx, `UPDATE admin_session SET last_seen_at = $1 WHERE hash = $2 AND ended_at = 0`, s.now().UnixMilli(), hash); err != nil {
		return fmt.Errorf("note admin session activity: %w", err)
	}
	return nil
}

// EndAdminSession ends a session now; false when it had already ended
// (or never existed), so its end is recorded once.
func (s *Store) EndAdminSession(ctx context.Context, hash string) (bool, error) {
	res, err := s.db.Exec(ctx, `UPDATE admin_session SET ended_at = $1 WHERE hash = $2 AND ended_at = 0`, s.now().UnixMilli(), hash)
	if err != nil {
		return false, fmt.Errorf("end an admin session: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("end an admin session: %w", err)
	}
	return n == 1, nil
}
