package adminauth

import (
	"context"
	"encoding/json"
	"net/netip"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Options are what an Auth is built from.
type Options struct {
	Store  *store.Store
	Config config.AdminAPI
	// IsIGAdmin says whether someone is one of the trust's IG admins
	// (trust.ig_admins); policy.Authorize decides with it.
	IsIGAdmin func(id.UserID) bool
	// Execute carries out a decision through the executor, the only
	// writer to the homeserver: here, the bot telling an IG admin their
	// sign-in code in their direct chat with it.
	Execute func(ctx context.Context, d policy.Decision) error
	// Background is the context sign-in codes are sent under, after the
	// request that asked has been answered (the service's life).
	Background context.Context
	// Home is where a new session is sent (default /_caldicott/).
	Home string
	Log  zerolog.Logger
}

// Auth is the admin surface's access layer: tokens, sign-in, sessions.
type Auth struct {
	st         *store.Store
	cfg        config.AdminAPI
	now        func() time.Time
	isIGAdmin  func(id.UserID) bool
	execute    func(ctx context.Context, d policy.Decision) error
	background context.Context
	home       string
	log        zerolog.Logger

	// proxies are admin_api.trusted_proxies, whose X-Forwarded-For counts.
	proxies []netip.Prefix

	tokenLimit   *limiter
	personLimit  *limiter
	addressLimit *limiter
	// unauthLimit bounds unauthenticated API calls per address, so
	// strangers cannot fill the audit log with refusals.
	unauthLimit *limiter
}

// New builds the access layer. A deprecated shared token is warned about.
func New(o Options) *Auth {
	now := o.Store.Now
	a := &Auth{
		st: o.Store, cfg: o.Config, now: now, isIGAdmin: o.IsIGAdmin, execute: o.Execute,
		background: o.Background, home: o.Home, log: o.Log, proxies: o.Config.TrustedProxyNetworks(),
		tokenLimit:   newLimiter(o.Config.RateLimit.PerMinute*60, o.Config.RateLimit.Burst, now),
		personLimit:  newLimiter(o.Config.SignIn.PerPersonPerHour, o.Config.SignIn.PerPersonPerHour, now),
		addressLimit: newLimiter(o.Config.SignIn.PerAddressPerHour, o.Config.SignIn.PerAddressPerHour, now),
		unauthLimit:  newLimiter(o.Config.SignIn.PerAddressPerHour, o.Config.SignIn.PerAddressPerHour, now),
	}
	if a.home == "" {
		a.home = "/_caldicott/"
	}
	if a.background == nil {
		a.background = context.Background()
	}
	if o.Config.Token != "" {
		a.log.Warn().Str("token", LegacyTokenName).Msg("admin_api.token is deprecated: it still works for the export endpoint as the token named \"legacy\" (scope export); make named tokens with `caldicott admin token create` and remove it")
	}
	return a
}

// mayAdminister: policy's rule for IG admins' commands, applied to sign-in.
func (a *Auth) mayAdminister(user id.UserID) bool {
	ok, _ := policy.Authorize(policy.CommandSpec{Usage: "sign in to Caldicott's pages", Needs: policy.IGAdmin},
		policy.Actor{UserID: user.String(), IsIGAdmin: a.isIGAdmin != nil && a.isIGAdmin(user)}, policy.PowerLevels{})
	return ok
}

// audit appends an entry; a failure is logged (the caller has answered or
// refused already: a refusal is never turned into an acceptance).
func (a *Auth) audit(ctx context.Context, actor, action, reason string, detail map[string]any) {
	raw, err := json.Marshal(detail)
	if err != nil {
		raw = []byte("{}")
	}
	// A caller that hung up (an export cut off) is still recorded.
	ctx = context.WithoutCancel(ctx)
	if _, err := a.st.AppendAudit(ctx, store.AuditEntry{Actor: actor, Action: action, Reason: reason, Detail: string(raw)}); err != nil {
		a.log.Error().Err(err).Str("action", action).Msg("Could not write the admin audit entry")
	}
}
