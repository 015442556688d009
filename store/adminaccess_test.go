package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestAdminTokens: a token is found by its hash only, listed without it,
// its name unique (revoked ones keep theirs), revoked once, and its
// creation and revocation are in the audit log with the operator's name;
// another Store on the database (the running service) sees the revocation.
func TestAdminTokens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		cli, svc := open(), open()
		at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		cli.SetClock(func() time.Time { return at })
		svc.SetClock(func() time.Time { return at })
		tok := AdminToken{Name: "ig-lead", Scopes: []string{"read", "export"}, For: "@ig:trust-a", CreatedBy: "cli:ops", CreatedAt: at, ExpiresAt: at.Add(90 * 24 * time.Hour)}
		created := AuditEntry{Actor: "cli:ops", Action: "admin_token.created", Detail: `{"name":"ig-lead"}`}
		if err := cli.CreateAdminToken(ctx, tok, "h1", created); err != nil {
			t.Fatal(err)
		}
		if err := cli.CreateAdminToken(ctx, AdminToken{Name: "ig-lead", CreatedAt: at}, "h2", created); !errors.Is(err, ErrExists) {
			t.Fatalf("a second token of the same name: err = %v, want ErrExists", err)
		}
		got, err := svc.AdminTokenByHash(ctx, "h1")
		if err != nil || got.Name != "ig-lead" || !slices.Equal(got.Scopes, tok.Scopes) || got.For != tok.For || !got.ExpiresAt.Equal(tok.ExpiresAt) || !got.RevokedAt.IsZero() || !got.LastUsedAt.IsZero() {
			t.Fatalf("by hash: %+v, %v", got, err)
		}
		if _, err := svc.AdminTokenByHash(ctx, "h2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown hash: err = %v, want ErrNotFound", err)
		}
		at = at.Add(time.Hour)
		if err := svc.TouchAdminToken(ctx, "ig-lead"); err != nil {
			t.Fatal(err)
		}
		if err := cli.RevokeAdminToken(ctx, "ig-lead", AuditEntry{Actor: "cli:ops", Action: "admin_token.revoked"}); err != nil {
			t.Fatal(err)
		}
		if err := cli.RevokeAdminToken(ctx, "ig-lead", AuditEntry{Actor: "cli:ops", Action: "admin_token.revoked"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoked twice: err = %v, want ErrNotFound", err)
		}
		if err := cli.RevokeAdminToken(ctx, "nobody", AuditEntry{Actor: "cli:ops", Action: "admin_token.revoked"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoke of an unknown name: err = %v, want ErrNotFound", err)
		}
		list, err := svc.AdminTokens(ctx)
		if err != nil || len(list) != 1 || !list[0].RevokedAt.Equal(at) || !list[0].LastUsedAt.Equal(at) {
			t.Fatalf("list: %+v, %v", list, err)
		}
		var actions []string
		if err := svc.AuditSince(ctx, time.Time{}, func(e AuditEntry) error {
			if e.Actor == "cli:ops" {
				actions = append(actions, e.Action)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(actions, []string{"admin_token.created", "admin_token.revoked"}) {
			t.Fatalf("audited %v; want one creation and one revocation (refusals write nothing)", actions)
		}
	})
}

// TestSignInCodes: a code is used once, not after it expires nor after
// too many wrong tries, and a browser's new request replaces its old code.
func TestSignInCodes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		s := open()
		at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return at })
		put := func(pending, code string) {
			t.Helper()
			if err := s.PutSignInCode(ctx, pending, SignInCode{UserID: "@ig:trust-a", CodeHash: code, CreatedAt: at, ExpiresAt: at.Add(10 * time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		use := func(pending string) bool {
			t.Helper()
			ok, err := s.UseSignInCode(ctx, pending, 3)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		put("p1", "c1")
		if _, err := s.SignInCodeFor(ctx, "p2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("no code for p2: err = %v", err)
		}
		if !use("p1") || use("p1") {
			t.Fatal("a code must be usable exactly once")
		}
		put("p1", "c2") // asked again: a fresh code
		if c, err := s.SignInCodeFor(ctx, "p1"); err != nil || c.CodeHash != "c2" || !c.UsedAt.IsZero() || c.Attempts != 0 {
			t.Fatalf("replaced code: %+v, %v", c, err)
		}
		for range 3 {
			if err := s.FailSignInCode(ctx, "p1"); err != nil {
				t.Fatal(err)
			}
		}
		if use("p1") {
			t.Fatal("a code used after three wrong tries")
		}
		put("p3", "c3")
		at = at.Add(10 * time.Minute)
		if use("p3") {
			t.Fatal("a code used when it expired")
		}
	})
}

// TestAdminSessions: a session is read back by its hash, its activity
// noted, and ended once.
func TestAdminSessions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		s := open()
		at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return at })
		if err := s.CreateAdminSession(ctx, "s1", AdminSession{UserID: "@ig:trust-a", CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(8 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		at = at.Add(5 * time.Minute)
		if err := s.TouchAdminSession(ctx, "s1"); err != nil {
			t.Fatal(err)
		}
		got, err := s.AdminSessionByHash(ctx, "s1")
		if err != nil || got.UserID != "@ig:trust-a" || !got.LastSeenAt.Equal(at) || !got.ExpiresAt.Equal(at.Add(8*time.Hour-5*time.Minute)) || !got.EndedAt.IsZero() {
			t.Fatalf("read back %+v, %v", got, err)
		}
		if ended, err := s.EndAdminSession(ctx, "s1"); err != nil || !ended {
			t.Fatalf("end: %v, %v", ended, err)
		}
		if ended, err := s.EndAdminSession(ctx, "s1"); err != nil || ended {
			t.Fatalf("ended twice: %v, %v", ended, err)
		}
		if got, err := s.AdminSessionByHash(ctx, "s1"); err != nil || !got.EndedAt.Equal(at) {
			t.Fatalf("after the end: %+v, %v", got, err)
		}
		if _, err := s.AdminSessionByHash(ctx, "s2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown session: err = %v", err)
		}
	})
}
