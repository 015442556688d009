// Package kit is what every capability of the Matrix side shares: the
// config, the store, the facts reader (reads), the executor (the only
// writer), and the small verbs built on them — reply, notice, audit. A
// capability package embeds a *Kit and takes interfaces for the other
// capabilities it calls; nothing here holds a capability's own state.
package kit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/appservice/facts"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Kit is the shared part of every capability.
type Kit struct {
	Cfg   *config.Config
	Store *store.Store
	// Bot reads from the homeserver (the executor writes).
	Bot   *mautrix.Client
	BotID id.UserID
	Exec  *executor.Executor
	Facts *facts.Reader
	Log   zerolog.Logger
	Now   func() time.Time

	reqMu sync.RWMutex
	req   policy.Requirements

	// portWarned: federation.servers entries already reported as naming
	// a server without the port its user IDs carry (see TrustServerOf).
	portWarned sync.Map
}

// SetRequirements sets what every rule takes from config and the
// federation's list (the trusts' servers change at run time).
func (k *Kit) SetRequirements(r policy.Requirements) {
	k.reqMu.Lock()
	defer k.reqMu.Unlock()
	k.req = r
}

// Requirements are the rules' inputs from config and the federation list,
// as they stand now.
func (k *Kit) Requirements() policy.Requirements {
	k.reqMu.RLock()
	defer k.reqMu.RUnlock()
	r := k.req
	r.FederationServers = slices.Clone(r.FederationServers)
	return r
}

// SetFederationServers replaces the other trusts' servers, e.g. when the
// federation's list of trusts changes.
func (k *Kit) SetFederationServers(servers []string) {
	k.reqMu.Lock()
	defer k.reqMu.Unlock()
	k.req.FederationServers = slices.Clone(servers)
}

// Audit records a decision that is not itself an action.
func (k *Kit) Audit(ctx context.Context, actor string, roomID id.RoomID, action, reason string, detail map[string]any) error {
	return k.Exec.Audit(ctx, actor, roomID, action, reason, detail)
}

// Reply answers a command in its room (or, run for the admin surface, to
// its caller: see WithAnswer).
func (k *Kit) Reply(ctx context.Context, evt *event.Event, text string) error {
	if answer := answerOf(ctx); answer != nil {
		answer(text)
		return nil
	}
	_, err := k.Exec.Execute(ctx, evt.RoomID, evt.Sender.String(), policy.ReplyTo(evt.ID.String(), text))
	return err
}

// Notice tells a room something, for the given rule.
func (k *Kit) Notice(ctx context.Context, roomID id.RoomID, rule, text string) error {
	_, err := k.Exec.Execute(ctx, roomID, k.BotID.String(), policy.RoomNotice(rule, text, rule))
	return err
}

// NotifyManagement tells the IG team, or only logs without a management room.
func (k *Kit) NotifyManagement(ctx context.Context, rule, text string) error {
	_, err := k.Exec.Execute(ctx, "", k.BotID.String(), policy.ManagementNotice(rule, text, rule))
	return err
}

// IsIGAdmin: one of the trust's IG admins.
func (k *Kit) IsIGAdmin(user id.UserID) bool {
	return slices.Contains(k.Cfg.Trust.IGAdmins, user.String())
}

// IsOwnTrust: a user of this trust's server, or an IG admin.
func (k *Kit) IsOwnTrust(user id.UserID) bool {
	return user.Homeserver() == k.Cfg.Homeserver.Domain || k.IsIGAdmin(user)
}

// ParseUserArg reads a full user ID from a command argument, or says how
// to write one.
func (k *Kit) ParseUserArg(arg, example string) (id.UserID, string) {
	user := id.UserID(arg)
	if _, _, err := user.Parse(); err != nil || !strings.HasPrefix(arg, "@") {
		return "", fmt.Sprintf("%q is not a Matrix user ID. Write it in full, e.g. `%s @jane.doe:%s`.", arg, example, k.Cfg.Homeserver.Domain)
	}
	return user, ""
}

// OrWord is v, or word when v is empty.
func OrWord(v, word string) string {
	if v == "" {
		return word
	}
	return v
}

// RetentionRules are the trust's retention limits per class, from config.
func (k *Kit) RetentionRules() policy.RetentionRules {
	r := k.Cfg.Retention
	limits := func(c config.RetentionClass) policy.RetentionLimits {
		return policy.RetentionLimits{Default: c.Default.Duration, Min: c.Min.Duration, Max: c.Max.Duration}
	}
	return policy.RetentionRules{policy.Clinical: limits(r.Clinical), policy.Operational: limits(r.Operational), policy.Social: limits(r.Social)}
}
