package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/policylist"
)

// IsListEvent reports whether an event in the list room changes its rules.
func IsListEvent(t event.Type) bool {
	_, ok := policylist.KindOf(t.Type)
	return ok || t == event.EventRedaction
}

// HandleEvent applies one event of the list room as it arrives, and acts
// on what it changed: a ban of another trust's user removes them from our
// clinical rooms now; a withdrawn ban lets them be invited again; a change
// of member trusts rewrites every clinical room's server ACL; a refused
// rule is reported to the IG team.
func (f *Federation) HandleEvent(ctx context.Context, evt *event.Event) error {
	raw := evt.Content.VeryRaw
	if evt.Type == event.EventRedaction && evt.Redacts != "" {
		raw, _ = json.Marshal(map[string]any{"redacts": evt.Redacts})
	}
	le := f.asListEvent(evt.Type.Type, evt.GetStateKey(), evt.Sender.String(), evt.ID.String(), raw)
	f.mu.Lock()
	before := f.trustsLocked()
	ch := f.list.Apply(le)
	if user, ours := policy.ListRuleEntity(evt.GetStateKey()); ours && evt.Sender == f.BotID {
		delete(f.sent, user)
	}
	after := f.trustsLocked()
	f.heard[evt.Sender.String()] = f.Now()
	f.mu.Unlock()

	if ch.Refused != nil {
		r := ch.Refused
		text := fmt.Sprintf("⚠ I refused a rule on the federation's policy list from %s (%s about %q): %s. It is not applied here.", r.Sender, r.Type, r.Entity, r.Reason)
		if r.Kept != nil {
			text += fmt.Sprintf(" It overwrote %s's rule about %s in the room; that rule stays in force here.", r.Kept.Sender, r.Kept.Entity)
		}
		if err := f.NotifyManagement(ctx, policy.RuleFederationAlert, text); err != nil {
			return err
		}
		if k := r.Kept; k != nil && k.Sender == f.BotID.String() && f.Room() != "" {
			if _, err := f.Execute(ctx, f.Room(), f.BotID.String(), policy.RestoreRule(k.Type, k.StateKey, k.Entity, string(k.Recommendation), k.Reason)); err != nil {
				return err
			}
		}
	}
	for _, r := range []*policylist.Rule{ch.Added, ch.Removed} {
		if r != nil && r.Kind == policylist.KindUser && f.Changed != nil && id.UserID(r.Entity).Homeserver() != f.Cfg.Homeserver.Domain {
			f.Changed(r.Entity)
		}
	}
	f.applyTrusts(ctx, before, after)
	return nil
}

// asListEvent turns a Matrix event into the list's input. A member-trust
// rule that a trust's bot publishes for one of the federation's admins
// counts as the admin's own: the admin asked for it with `!policy trust`
// (the bot can only write as itself), and only if they are an admin.
func (f *Federation) asListEvent(typ, stateKey, sender, eventID string, content json.RawMessage) policylist.Event {
	le := policylist.Event{Type: typ, StateKey: stateKey, Sender: sender, EventID: eventID, Content: content}
	if kind, ok := policylist.KindOf(typ); ok && kind == policylist.KindServer {
		var c map[string]any
		if json.Unmarshal(content, &c) == nil {
			by, _ := c[policy.RequestedByKey].(string)
			if by != "" && slices.Contains(f.Cfg.Federation.Admins, by) && f.isTrustBot(sender) {
				le.Sender = by
			}
		}
	}
	return le
}

func (f *Federation) isTrustBot(user string) bool {
	if user == f.BotID.String() {
		return true
	}
	return slices.Contains(f.otherBots(), user)
}

// Trusts are the member trusts' servers besides ours: those in config and
// those the list allows, less those it bans.
func (f *Federation) Trusts() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.trustsLocked()
}

func (f *Federation) trustsLocked() []string {
	set := map[string]bool{}
	for _, s := range f.Cfg.Federation.Servers {
		set[s] = true
	}
	for _, s := range f.list.AllowedServers() {
		set[s] = true
	}
	for _, r := range f.list.Rules() {
		if r.Kind == policylist.KindServer && r.Recommendation == policylist.Ban {
			delete(set, r.Entity)
		}
	}
	delete(set, f.Cfg.Homeserver.Domain)
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// applyTrusts brings the rules' idea of the federation, and so every
// clinical room's server ACL, in line when the member trusts changed.
func (f *Federation) applyTrusts(ctx context.Context, before, after []string) {
	current := f.Requirements().FederationServers
	slices.Sort(current)
	if slices.Equal(before, after) && slices.Equal(after, current) {
		return
	}
	f.SetFederationServers(after)
	f.Log.Info().Strs("trusts", after).Msg("The federation's member trusts changed")
	_ = f.Audit(ctx, f.BotID.String(), "", "federation.trusts", "member trusts now: "+fmt.Sprint(after), map[string]any{"trusts": after})
	if f.TrustsChanged != nil {
		go f.TrustsChanged(context.WithoutCancel(ctx))
	}
}
