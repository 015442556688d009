package policylist

import (
	"encoding/json"
	"testing"
)

func TestKindOf(t *testing.T) {
	for typ, want := range map[string]Kind{
		"m.policy.rule.user": KindUser, "m.policy.rule.server": KindServer, "m.policy.rule.room": KindRoom,
		"m.room.rule.user": KindUser, "m.room.rule.server": KindServer, "m.room.rule.room": KindRoom,
		"org.matrix.mjolnir.rule.user": KindUser, "org.matrix.mjolnir.rule.server": KindServer,
		"org.matrix.mjolnir.rule.room": KindRoom,
	} {
		if got, ok := KindOf(typ); !ok || got != want {
			t.Errorf("KindOf(%q) = %q, %v; want %q", typ, got, ok, want)
		}
	}
	for _, typ := range []string{"m.room.member", "m.policy.rule", "m.policy.rule.users", "M.POLICY.RULE.USER", ""} {
		if _, ok := KindOf(typ); ok {
			t.Errorf("KindOf(%q) claims a policy type", typ)
		}
	}
}

func TestParseContent(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		removal       bool
		want          ruleContent
	}{
		{"full", `{"entity":"@a:b","recommendation":"m.ban","reason":"left"}`, false, ruleContent{"@a:b", "m.ban", "left"}},
		{"no reason is still a rule", `{"entity":"@a:b","recommendation":"m.ban"}`, false, ruleContent{"@a:b", "m.ban", ""}},
		{"reason not a string is read as empty", `{"entity":"@a:b","recommendation":"m.ban","reason":7}`, false, ruleContent{"@a:b", "m.ban", ""}},
		{"unknown fields ignored", `{"entity":"@a:b","recommendation":"m.ban","org.matrix.msc4205.hashes":{}}`, false, ruleContent{"@a:b", "m.ban", ""}},
		{"empty object", `{}`, true, ruleContent{}},
		{"empty bytes", ``, true, ruleContent{}},
		{"null", `null`, true, ruleContent{}},
		{"array", `[]`, true, ruleContent{}},
		{"not JSON", `{"entity":`, true, ruleContent{}},
		{"entity missing", `{"recommendation":"m.ban","reason":"x"}`, true, ruleContent{}},
		{"entity empty", `{"entity":"","recommendation":"m.ban"}`, true, ruleContent{}},
		{"entity a number", `{"entity":5,"recommendation":"m.ban"}`, true, ruleContent{}},
		{"entity an object", `{"entity":{"a":1},"recommendation":"m.ban"}`, true, ruleContent{}},
		{"recommendation missing", `{"entity":"@a:b"}`, true, ruleContent{}},
		{"recommendation empty", `{"entity":"@a:b","recommendation":""}`, true, ruleContent{}},
		{"recommendation null", `{"entity":"@a:b","recommendation":null}`, true, ruleContent{}},
		// Found by FuzzContent: keys in another case were read as the
		// spec's, a rule no other reader of the list would see.
		{"keys in another case", `{"Entity":"@a:b","RECOMMENDATION":"m.ban"}`, true, ruleContent{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, removal := parseContent(json.RawMessage(tc.content))
			if removal != tc.removal || got != tc.want {
				t.Errorf("parseContent(%s) = %+v, removal %v; want %+v, %v", tc.content, got, removal, tc.want, tc.removal)
			}
		})
	}
}

// Legacy and unstable names are read and normalised; anything else is
// refused with a reason and never applied.
func TestRecommendations(t *testing.T) {
	for _, tc := range []struct {
		kind   string
		sender string
		entity string
		sent   string
		want   Recommendation // "" = refused
	}{
		{TypeUserRule, botB, regB, "m.ban", Ban},
		{TypeUserRule, botB, regB, "org.matrix.mjolnir.ban", Ban},
		{TypeServerRule, admin, "trust-c", "m.allow", Allow},
		{TypeServerRule, admin, "trust-c", "org.matrix.mjolnir.allow", Allow},
		{TypeServerRule, admin, "evil.example", "m.ban", Ban},
		{TypeUserRule, botB, regB, "org.matrix.msc4204.takedown", ""},
		{TypeUserRule, botB, regB, "fi.mau.meowlnir.unban", ""},
		{TypeUserRule, botB, regB, "m.BAN", ""},
		{TypeUserRule, botB, regB, "ban", ""},
		{TypeServerRule, admin, "trust-c", "org.matrix.msc4150.allow", ""},
	} {
		t.Run(tc.sent, func(t *testing.T) {
			l := newList(t, Limits{})
			e := ev(tc.kind, "k", tc.sender, rule(tc.entity, tc.sent, "r"))
			if tc.want == "" {
				r := mustRefuse(t, l, e, "recommendation")
				if r.Recommendation != tc.sent {
					t.Errorf("refusal should show the recommendation as sent: %q", r.Recommendation)
				}
				if len(l.Rules()) != 0 {
					t.Error("a refused rule was applied")
				}
				return
			}
			if got := mustAdd(t, l, e); got.Recommendation != tc.want {
				t.Errorf("recommendation %q normalised to %q, want %q", tc.sent, got.Recommendation, tc.want)
			}
		})
	}
}

// Old lists carry m.room.rule.* and org.matrix.mjolnir.rule.*: they are read
// as the same kinds, and each (type, state key) is its own state entry.
func TestLegacyTypes(t *testing.T) {
	l := newList(t, Limits{})
	for _, typ := range []string{"m.room.rule.user", "org.matrix.mjolnir.rule.user"} {
		got := mustAdd(t, l, ev(typ, "rule:leaver", botB, rule(regB, "m.ban", "left")))
		if got.Kind != KindUser || got.Type != typ {
			t.Errorf("%s read as kind %q type %q", typ, got.Kind, got.Type)
		}
	}
	mustAdd(t, l, ev("org.matrix.mjolnir.rule.server", "rule:trust-c", admin, rule("trust-c", "m.allow", "joined")))
	if m := l.MatchUser(regB); len(m) != 2 {
		t.Fatalf("two rules under two types, same key: MatchUser = %d rules, want 2", len(m))
	}
	// Withdrawing under one type leaves the other in force, as in the room.
	if c := l.Apply(ev("m.room.rule.user", "rule:leaver", botB, "")); c.Removed == nil {
		t.Fatalf("removal under the legacy type: %+v", c)
	}
	if !banned(l, regB) {
		t.Error("the unstable-typed rule should still ban")
	}
	if got := l.AllowedServers(); len(got) != 1 || got[0] != "trust-c" {
		t.Errorf("AllowedServers = %v", got)
	}
}
