package policylist

import (
	"slices"
	"testing"
)

func TestMatchUser(t *testing.T) {
	l := newList(t, Limits{})
	exact := mustAdd(t, l, userBan(botB, "@locum.smith1:trust-b"))
	wild := mustAdd(t, l, userBan(botB, "@locum.smith*:trust-b"))
	mustAdd(t, l, userBan(botA, "@locum.smith1:trust-a"))
	mustAdd(t, l, trustAllow(admin, "trust-b"))

	got := l.MatchUser("@locum.smith1:trust-b")
	if len(got) != 2 || got[0].EventID != exact.EventID || got[1].EventID != wild.EventID {
		t.Errorf("MatchUser = %+v, want the exact rule then the glob", got)
	}
	if r, ok := l.Banned("@locum.smith1:trust-b"); !ok || r.EventID != exact.EventID {
		t.Errorf("Banned prefers the exact rule: %+v %v", r, ok)
	}
	if got := l.MatchUser("@locum.smith2:trust-b"); len(got) != 1 || got[0].EventID != wild.EventID {
		t.Errorf("glob only: %+v", got)
	}
	for _, nobody := range []string{"@registrar:trust-b", "trust-b", "", "@locum.smith1"} {
		if got := l.MatchUser(nobody); got != nil {
			t.Errorf("MatchUser(%q) = %+v", nobody, got)
		}
		if banned(l, nobody) {
			t.Errorf("Banned(%q)", nobody)
		}
	}
	// The caller's copy is its own.
	got[0].Entity = "changed"
	if l.MatchUser("@locum.smith2:trust-b")[0].Entity == "changed" {
		t.Error("MatchUser shares the list's memory")
	}
}

func TestAllowedServers(t *testing.T) {
	l := newList(t, Limits{})
	mustAdd(t, l, trustAllow(admin, "trust-c"))
	mustAdd(t, l, trustAllow(admin, "trust-a"))
	legacy := mustAdd(t, l, ev("org.matrix.mjolnir.rule.server", "rule:trust-c", admin, rule("trust-c", "org.matrix.mjolnir.allow", "")))
	mustAdd(t, l, ev(TypeServerRule, "ban:evil", admin, rule("evil.example", "m.ban", "spam")))
	if got := l.AllowedServers(); !slices.Equal(got, []string{"trust-a", "trust-c"}) {
		t.Errorf("AllowedServers = %v", got)
	}
	// trust-c is named twice; withdrawing one rule keeps it a member.
	l.Apply(ev(legacy.Type, legacy.StateKey, admin, ""))
	if got := l.AllowedServers(); !slices.Equal(got, []string{"trust-a", "trust-c"}) {
		t.Errorf("after withdrawing one of two rules: %v", got)
	}
}

func TestRulesAndCounts(t *testing.T) {
	l := newList(t, Limits{})
	mustAdd(t, l, userBan(botB, regB))
	mustAdd(t, l, userBan(botB, nurseB))
	mustAdd(t, l, userBan(botA, regA))
	mustAdd(t, l, trustAllow(admin, "trust-b"))
	mustAdd(t, l, ev(TypeRoomRule, "r", admin, rule("!spam:evil.example", "m.ban", "")))
	mustRefuse(t, l, userBan(outside, regA), "not a trust's bot")

	rules := l.Rules()
	var entities []string
	for _, r := range rules {
		entities = append(entities, string(r.Kind)+" "+r.Entity)
	}
	want := []string{"room !spam:evil.example", "server trust-b", "user " + nurseB, "user " + regA, "user " + regB}
	if !slices.Equal(entities, want) {
		t.Errorf("Rules() order = %v, want %v", entities, want)
	}

	c := l.Counts()
	if c.Rules != 5 || c.Refused != 1 ||
		c.ByKind[KindUser] != 3 || c.ByKind[KindServer] != 1 || c.ByKind[KindRoom] != 1 ||
		c.ByRecommendation[Ban] != 4 || c.ByRecommendation[Allow] != 1 ||
		c.BySenderServer["trust-b"] != 2 || c.BySenderServer["trust-a"] != 3 {
		t.Errorf("Counts = %+v", c)
	}
}

// The caller acts on each change: a new ban removes the person now, a
// withdrawn one lets them be invited again, an allow change rewrites ACLs.
func TestChangesDriveTheCaller(t *testing.T) {
	l := newList(t, Limits{})
	c := l.Apply(userBan(botB, regB))
	if c.Added == nil || c.Added.Kind != KindUser || c.Added.Recommendation != Ban || c.Added.Entity != regB || c.Replaced() {
		t.Errorf("new ban: %+v", c)
	}
	c = l.Apply(ev(TypeUserRule, c.Added.StateKey, botB, ""))
	if c.Removed == nil || c.Removed.Entity != regB || c.Added != nil {
		t.Errorf("withdrawn ban: %+v", c)
	}
	c = l.Apply(trustAllow(admin, "trust-c"))
	if c.Added == nil || c.Added.Kind != KindServer || c.Added.Recommendation != Allow {
		t.Errorf("allow: %+v", c)
	}
	if c := l.Apply(Event{Type: "m.room.member", StateKey: regB, Sender: regB, Content: []byte(`{"membership":"join"}`)}); !c.None() {
		t.Errorf("a non-policy event changed something: %+v", c)
	}
}
