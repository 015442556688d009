package policylist

import (
	"fmt"

	"go.mau.fi/util/glob"
)

// judge decides whether the sender may publish this rule and whether it is
// well formed, returning the entry to insert or why not. The checks run
// from the most to the least fundamental, so the reason given is the one
// that matters: an unknown recommendation, then who sent it, then what it
// names.
func (l *List) judge(evt Event, kind Kind, c ruleContent) (*entry, string) {
	rec, known := recommendations[c.Recommendation]
	if !known {
		return nil, fmt.Sprintf("the recommendation %q is not one this federation acts on (m.ban, or m.allow for member trusts)", clean(c.Recommendation, 64))
	}
	e := &entry{Rule: Rule{
		Kind:           kind,
		Entity:         c.Entity,
		Recommendation: rec,
		Reason:         clean(c.Reason, l.limits.MaxReasonBytes),
		Sender:         evt.Sender,
		Type:           evt.Type,
		StateKey:       evt.StateKey,
		EventID:        evt.EventID,
	}}
	var why string
	switch kind {
	case KindUser:
		why = l.judgeUser(e)
	case KindServer:
		why = l.judgeAdminRule(e, serverProblem(e.Entity, rec == Ban))
	case KindRoom:
		why = l.judgeAdminRule(e, roomProblem(e.Entity))
	}
	if why != "" {
		return nil, why
	}
	return e, ""
}

// judgeUser: a user rule is a trust's bot banning one of its own users.
func (l *List) judgeUser(e *entry) string {
	if e.Recommendation != Ban {
		return "a user rule may only ban (m.ban); this federation has no use for allowing users"
	}
	botServer, isBot := l.auth.bots[e.Sender]
	if !isBot {
		return fmt.Sprintf("%s is not a trust's bot; only trusts' bots publish user rules", e.Sender)
	}
	u, problem := parseUserEntity(e.Entity)
	if problem != "" {
		return fmt.Sprintf("the entity %q %s", clean(e.Entity, 100), problem)
	}
	if u.server != botServer {
		return fmt.Sprintf("%s speaks for %s, so it may not publish a rule about a user on %s", e.Sender, botServer, u.server)
	}
	e.server = u.server
	if u.glob {
		e.local = glob.Compile(u.local)
	}
	for bot := range l.auth.bots {
		if bot == e.Entity || (e.local != nil && serverOf(bot) == e.server && e.local.Match(localOf(bot))) {
			return fmt.Sprintf("the entity %q would ban %s, a trust's bot", e.Entity, bot)
		}
	}
	return ""
}

// judgeAdminRule: server and room rules come from federation admins only —
// the allow rules are the list of member trusts.
func (l *List) judgeAdminRule(e *entry, problem string) string {
	if !l.auth.admins[e.Sender] {
		return fmt.Sprintf("%s is not a federation admin; only admins publish %s rules", e.Sender, e.Kind)
	}
	if problem != "" {
		return fmt.Sprintf("the entity %q %s", clean(e.Entity, 100), problem)
	}
	if e.Kind == KindRoom && e.Recommendation != Ban {
		return "a room rule may only ban (m.ban)"
	}
	return ""
}
