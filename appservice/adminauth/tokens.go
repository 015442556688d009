package adminauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/store"
)

// LegacyTokenName is what the audit log calls the deprecated shared
// admin_api.token: a token with the export scope only.
const LegacyTokenName = "legacy"

// Audit actions of token management and use.
const (
	ActionTokenCreated = "admin_token.created"
	ActionTokenRevoked = "admin_token.revoked"
	ActionAPICall      = "admin_api.call"
	ActionAPIRefused   = "admin_api.refused"
)

// ErrInvalid marks a token asked for that cannot be made as given.
var ErrInvalid = errors.New("invalid token request")

// tokenName is a token's name: short, and safe in a log line.
var tokenName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// NewToken is what `caldicott admin token create` asks for.
type NewToken struct {
	Name   string
	Scopes []Scope
	// ExpiresIn: 0 for never.
	ExpiresIn time.Duration
	// For is the person it is for, "" for a system.
	For string
	// By is who made it (the operator), for the audit log.
	By string
}

// CreateToken makes a named token and returns its secret, which is shown
// this once and kept only as a hash. Its creation is audited.
func CreateToken(ctx context.Context, st *store.Store, n NewToken) (string, error) {
	if !tokenName.MatchString(n.Name) {
		return "", fmt.Errorf("%w: %q is not a token name (lower-case letters, digits, '.', '_', '-'; at most 64; e.g. ig-lead or siem)", ErrInvalid, n.Name)
	}
	if n.Name == LegacyTokenName {
		return "", fmt.Errorf("%w: %q is the name of the deprecated admin_api.token; choose another", ErrInvalid, n.Name)
	}
	if len(n.Scopes) == 0 {
		return "", fmt.Errorf("%w: give at least one scope (%s)", ErrInvalid, scopeList())
	}
	if n.For == "" && slices.Contains(n.Scopes, ScopeAct) {
		return "", fmt.Errorf("%w: the act scope needs --for: an act is done as the person the token is for, an IG admin, never as a system", ErrInvalid)
	}
	if n.For != "" {
		if _, _, err := id.UserID(n.For).Parse(); err != nil || !strings.HasPrefix(n.For, "@") {
			return "", fmt.Errorf("%w: %q is not a Matrix user ID (@person:server)", ErrInvalid, n.For)
		}
	}
	now := st.Now()
	t := store.AdminToken{Name: n.Name, For: n.For, CreatedBy: n.By, CreatedAt: now}
	for _, s := range n.Scopes {
		t.Scopes = append(t.Scopes, string(s))
	}
	if n.ExpiresIn > 0 {
		t.ExpiresAt = now.Add(n.ExpiresIn)
	}
	secret := tokenPrefix + newSecret()
	detail, err := json.Marshal(map[string]string{"name": t.Name, "scopes": strings.Join(t.Scopes, " "), "for": t.For, "expires_at": formatTime(t.ExpiresAt)})
	if err != nil {
		return "", fmt.Errorf("encode the audit detail: %w", err)
	}
	entry := store.AuditEntry{Actor: n.By, Action: ActionTokenCreated, Reason: "admin API token " + n.Name + " created", Detail: string(detail)}
	if err := st.CreateAdminToken(ctx, t, hashOf("token", secret), entry); err != nil {
		return "", err
	}
	return secret, nil
}

// RevokeToken revokes a token by name, audited; an unknown or already
// revoked name is an error.
func RevokeToken(ctx context.Context, st *store.Store, name, by string) error {
	entry := store.AuditEntry{Actor: by, Action: ActionTokenRevoked, Reason: "admin API token " + name + " revoked", Detail: fmt.Sprintf(`{"name":%q}`, name)}
	return st.RevokeAdminToken(ctx, name, entry)
}

// caller is the token a request presented, as the middleware judged it.
type caller struct {
	name   string
	scopes []string
	// person the token is for ("" for a system).
	person string
	row    store.AdminToken
}

// errBadToken: no token with that secret, or revoked, or expired.
var errBadToken = errors.New("unknown, revoked or expired token")

// lookup finds the token a bearer secret names, refusing revoked and
// expired ones (the name is still returned, for the audit log).
func (a *Auth) lookup(ctx context.Context, secret string) (caller, error) {
	if legacy := a.cfg.Token; legacy != "" && same(secret, legacy) {
		return caller{name: LegacyTokenName, scopes: []string{string(ScopeExport)}}, nil
	}
	// Found by the SHA-256 of a 256-bit secret: the index lookup's timing
	// says nothing about any stored secret (the shared token, kept in
	// clear in the config, is compared in constant time above).
	hash := hashOf("token", secret)
	t, err := a.st.AdminTokenByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return caller{}, errBadToken
	}
	if err != nil {
		return caller{}, err
	}
	c := caller{name: t.Name, scopes: t.Scopes, person: t.For, row: t}
	now := a.now()
	if !t.RevokedAt.IsZero() || (!t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)) {
		return c, errBadToken
	}
	return c, nil
}

func (c caller) has(s Scope) bool { return slices.Contains(c.scopes, string(s)) }

// touch records the token used, at most once a minute.
func (a *Auth) touch(ctx context.Context, c caller) {
	if c.name == LegacyTokenName && c.row.Name == "" {
		return
	}
	if now := a.now(); !c.row.LastUsedAt.IsZero() && now.Sub(c.row.LastUsedAt) < time.Minute {
		return
	}
	if err := a.st.TouchAdminToken(ctx, c.name); err != nil {
		a.log.Warn().Err(err).Str("token", c.name).Msg("Could not note the admin token's use")
	}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
