package policylist

import (
	"strings"
	"testing"
)

// Each forgery from issue 10, and its honest counterpart.
func TestAuthority(t *testing.T) {
	for _, tc := range []struct {
		name   string
		event  Event
		refuse string // what the reason must say; "" = accepted
	}{
		{"a trust's bot bans its own leaver", userBan(botB, regB), ""},
		{"B's bot bans an A user (forged)", userBan(botB, regA), "trust-b, so it may not publish a rule about a user on trust-a"},
		{"B's bot bans an outsider", userBan(botB, outside), "may not publish a rule about a user on outside"},
		{"a non-bot member of B writes a ban", userBan(nurseB, regB), "is not a trust's bot"},
		{"an outsider writes a ban", userBan(outside, regB), "is not a trust's bot"},
		{"a federation admin writes a user ban", userBan(admin, regA), "is not a trust's bot"},
		{"an admin adds a trust", trustAllow(admin, "trust-c"), ""},
		{"a trust's bot adds a trust", trustAllow(botA, "trust-c"), "is not a federation admin"},
		{"a member adds a trust", trustAllow(nurseB, "trust-c"), "is not a federation admin"},
		{"an outsider adds itself", trustAllow(outside, "outside"), "is not a federation admin"},
		{"a member bans a server", ev(TypeServerRule, "s", nurseB, rule("evil.example", "m.ban", "spam")), "is not a federation admin"},
		{"an admin bans a server", ev(TypeServerRule, "s", admin, rule("evil.example", "m.ban", "spam")), ""},
		{"a bot bans a room", ev(TypeRoomRule, "r", botA, rule("!abc:trust-a", "m.ban", "spam")), "is not a federation admin"},
		{"an admin bans a room", ev(TypeRoomRule, "r", admin, rule("!abc:trust-a", "m.ban", "spam")), ""},
		{"a bot allows a user", ev(TypeUserRule, "u", botB, rule(regB, AllowUnstable, "")), "may only ban"},
		{"a bot bans its own trust's bot", userBan(botB, botB), "a trust's bot"},
		{"a bot's glob would catch its bot", userBan(botB, "@caldi*:trust-b"), "a trust's bot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newList(t, Limits{})
			if tc.refuse == "" {
				mustAdd(t, l, tc.event)
				return
			}
			mustRefuse(t, l, tc.event, tc.refuse)
			if n := len(l.Rules()); n != 0 {
				t.Errorf("refused, yet %d rules in force", n)
			}
			if got := l.Refused(); len(got) != 1 || got[0].EventID != tc.event.EventID {
				t.Errorf("Refused() = %+v, want this event", got)
			}
		})
	}
}

// Matrix lets any member with power to send state write at any (type,
// state key), including one another sender used. The list keeps the last
// authorised state there and reports the overwrite.
func TestOverwriteByOthersKeepsTheRule(t *testing.T) {
	for _, tc := range []struct {
		name    string
		attempt func(key string) Event
		reason  string
	}{
		{"a member empties the bot's rule", func(k string) Event { return ev(TypeUserRule, k, nurseB, "") }, "is not a trust's bot"},
		{"an outsider empties the bot's rule", func(k string) Event { return ev(TypeUserRule, k, outside, `{"entity":""}`) }, "is not a trust's bot"},
		{"another trust's bot empties it", func(k string) Event { return ev(TypeUserRule, k, botA, "") }, "speaks for trust-a"},
		{"another trust's bot writes its own valid ban at the key", func(k string) Event { return userBanAt(botA, k, regA) }, "overwrites a rule it may not withdraw"},
		{"a member writes a junk rule at the key", func(k string) Event {
			return ev(TypeUserRule, k, nurseB, rule(regB, "org.example.unban", "x"))
		}, "recommendation"},
		{"an admin empties it", func(k string) Event { return ev(TypeUserRule, k, admin, "") }, "is not a trust's bot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newList(t, Limits{})
			ban := mustAdd(t, l, userBan(botB, regB))
			r := mustRefuse(t, l, tc.attempt(ban.StateKey), tc.reason)
			if r.Kept == nil || r.Kept.EventID != ban.EventID {
				t.Errorf("refusal should name the rule kept in force: %+v", r.Kept)
			}
			if got, ok := l.Banned(regB); !ok || got.EventID != ban.EventID {
				t.Errorf("the bot's ban was lost: %+v %v", got, ok)
			}
			// Its publisher can still withdraw it afterwards.
			if c := l.Apply(ev(TypeUserRule, ban.StateKey, botB, "")); c.Removed == nil {
				t.Errorf("the publisher's withdrawal after the overwrite: %+v", c)
			}
		})
	}
}

// A bot writing a refused rule over its own rule does not lose the rule
// either: only a valid removal withdraws one.
func TestPublisherOwnMistakeKeepsTheRule(t *testing.T) {
	l := newList(t, Limits{})
	ban := mustAdd(t, l, userBan(botB, regB))
	r := mustRefuse(t, l, ev(TypeUserRule, ban.StateKey, botB, rule("@*:trust-b", "m.ban", "oops")), "every user on trust-b")
	if r.Kept == nil || !banned(l, regB) || banned(l, nurseB) {
		t.Errorf("after a refused overwrite: kept %+v, registrar banned %v, nurse banned %v", r.Kept, banned(l, regB), banned(l, nurseB))
	}
	if got := l.Refused(); len(got) != 1 || got[0].Kept == nil || got[0].Kept.EventID != ban.EventID {
		t.Errorf("Refused() should report the kept rule: %+v", got)
	}
}

func TestMemberListChangesOnlyByAdmins(t *testing.T) {
	l := newList(t, Limits{})
	add := mustAdd(t, l, trustAllow(admin, "trust-b"))
	mustRefuse(t, l, ev(TypeServerRule, add.StateKey, botB, ""), "is not a federation admin")
	mustRefuse(t, l, ev(TypeServerRule, add.StateKey, botA, ""), "is not a federation admin")
	if got := l.AllowedServers(); len(got) != 1 || got[0] != "trust-b" {
		t.Fatalf("a bot removed a member trust: %v", got)
	}
	if c := l.Apply(ev(TypeServerRule, add.StateKey, admin, "")); c.Removed == nil || c.Removed.Recommendation != Allow {
		t.Fatalf("admin's removal: %+v", c)
	}
	if got := l.AllowedServers(); len(got) != 0 {
		t.Errorf("AllowedServers after removal = %v", got)
	}
}

func TestNewChecksTheAuthority(t *testing.T) {
	for _, tc := range []struct {
		name string
		auth Authority
		err  string
	}{
		{"bot mapped to another server", Authority{Bots: map[string]string{botB: "trust-a"}}, "only for its own server"},
		{"bot not a user ID", Authority{Bots: map[string]string{"caldicott": "trust-b"}}, "not a user ID"},
		{"admin not a user ID", Authority{Admins: []string{"ig.lead"}}, "not a user ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.auth, Limits{}); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("New: %v, want an error saying %q", err, tc.err)
			}
		})
	}
	if _, err := New(Authority{}, Limits{}); err != nil {
		t.Errorf("an empty authority is valid (it accepts nothing): %v", err)
	}
}

func userBanAt(sender, stateKey, entity string) Event {
	return ev(TypeUserRule, stateKey, sender, rule(entity, "m.ban", "left"))
}
