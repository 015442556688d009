package policylist

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/matrix-org/gomatrixserverlib/spec"
)

// fuzzTypes are the event types a list room carries, policy or not.
var fuzzTypes = []string{
	TypeUserRule, TypeServerRule, TypeRoomRule,
	"m.room.rule.user", "org.matrix.mjolnir.rule.server", "org.matrix.mjolnir.rule.room",
	typeRedaction, "m.room.member",
}

// fuzzSenders: two trusts' bots, a federation admin, a member of staff, an
// outsider.
var fuzzSenders = []string{botA, botB, admin, nurseB, outside}

// FuzzApply feeds two events of any content from any sender into a list,
// the second at the same key as the first (so it may replace, remove or
// redact it), and checks what the list says after each: a rule that is in
// force has a well-formed entity, a known recommendation and a sender with
// the authority to publish it; a refusal says why; an event applied twice
// changes nothing; and the rules in force answer the queries a join asks.
func FuzzApply(f *testing.F) {
	seeds := []struct {
		t1, s1       uint8
		c1           string
		t2, s2       uint8
		c2, stateKey string
	}{
		{0, 0, rule("@nurse.jones:trust-a", "m.ban", "left the trust"), 0, 1, rule("@nurse.jones:trust-a", "m.ban", ""), "rule:@nurse.jones:trust-a"},
		{0, 1, rule("@locum.*:trust-b", "m.ban", "locums"), 6, 2, `{"redacts":"$1"}`, "rule:locums"},
		{1, 2, rule("trust-c.nhs.uk", AllowUnstable, "member trust"), 1, 1, `{}`, "rule:trust-c"},
		{1, 1, rule("evil.example", "m.allow", "forged"), 1, 2, rule("evil.example", "m.ban", "spam"), "rule:evil"},
		{2, 2, rule("!abc:trust-a", "m.ban", ""), 2, 2, rule("#*:evil.example", "m.ban", ""), "rule:room"},
		{0, 0, rule("@*:trust-a", "m.ban", ""), 0, 0, `{"entity":5,"recommendation":"m.ban"}`, "x"},
		{4, 2, rule("*.evil.example", "org.matrix.mjolnir.ban", ""), 7, 3, `{"membership":"join"}`, ""},
	}
	for _, s := range seeds {
		f.Add(s.t1, s.s1, []byte(s.c1), s.t2, s.s2, []byte(s.c2), s.stateKey)
	}
	f.Fuzz(func(t *testing.T, t1, s1 uint8, c1 []byte, t2, s2 uint8, c2 []byte, stateKey string) {
		l := newList(t, Limits{MaxRules: 1})
		pick := func(typ, sender uint8, content []byte, id string) Event {
			return Event{
				Type: fuzzTypes[int(typ)%len(fuzzTypes)], StateKey: stateKey,
				Sender: fuzzSenders[int(sender)%len(fuzzSenders)], EventID: id, Content: content,
			}
		}
		for _, e := range []Event{pick(t1, s1, c1, "$1"), pick(t2, s2, c2, "$2")} {
			c := l.Apply(e)
			checkChange(t, e, c)
			if again := l.Apply(e); e.Type != typeRedaction && !again.None() {
				t.Fatalf("%s applied twice changed something the second time: %+v", describe(e), again)
			}
		}
		rules := l.Rules()
		if n := l.Counts().Rules; n != len(rules) || n > 1 {
			t.Fatalf("Counts says %d rules, Rules lists %d (limit 1)", n, len(rules))
		}
		for _, r := range rules {
			checkRule(t, r)
			switch {
			case r.Kind == KindUser && !hasWildcard(r.Entity):
				if got, ok := l.Banned(r.Entity); !ok || got.EventID != r.EventID {
					t.Fatalf("ban of %s in force, yet Banned(%s) = %+v, %v", r.Entity, r.Entity, got, ok)
				}
			case r.Kind == KindServer && r.Recommendation == Allow:
				if a := l.AllowedServers(); len(a) != 1 || a[0] != r.Entity {
					t.Fatalf("allow of %s in force, yet AllowedServers = %q", r.Entity, a)
				}
			}
		}
	})
}

func describe(e Event) string {
	return fmt.Sprintf("%s (key %q) from %s: %q", e.Type, e.StateKey, e.Sender, e.Content)
}

// checkChange checks what one event did.
func checkChange(t *testing.T, e Event, c Change) {
	t.Helper()
	kind, isRule := KindOf(e.Type)
	if !isRule && e.Type != typeRedaction && !c.None() {
		t.Fatalf("%s is no policy event, yet changed %+v", describe(e), c)
	}
	if c.Refused != nil {
		if c.Added != nil || c.Removed != nil {
			t.Fatalf("%s both refused and applied: %+v", describe(e), c)
		}
		if c.Refused.Reason == "" || c.Refused.Sender != e.Sender || c.Refused.EventID != e.EventID {
			t.Fatalf("%s refused without a reason or its sender: %+v", describe(e), c.Refused)
		}
	}
	if c.Removed != nil {
		if (e.Type == typeRedaction || c.Added == nil) && e.Sender != admin && !strings.HasPrefix(e.Sender, "@caldicott:") {
			t.Fatalf("%s withdrew %+v", describe(e), c.Removed)
		}
	}
	if c.Added == nil {
		return
	}
	r := *c.Added
	if r.Kind != kind || r.Type != e.Type || r.StateKey != e.StateKey || r.Sender != e.Sender || r.EventID != e.EventID {
		t.Fatalf("%s added %+v, which does not say where it came from", describe(e), r)
	}
	checkRule(t, r)
}

// checkRule: a rule in force is one its sender may publish, about a
// well-formed entity.
func checkRule(t *testing.T, r Rule) {
	t.Helper()
	if r.Entity == "" || (r.Recommendation != Ban && r.Recommendation != Allow) {
		t.Fatalf("rule in force with entity %q and recommendation %q", r.Entity, r.Recommendation)
	}
	switch r.Kind {
	case KindUser:
		server, isBot := fedAuth.Bots[r.Sender]
		if !isBot || r.Recommendation != Ban || serverOf(r.Entity) != server {
			t.Fatalf("user rule %+v in force: only a trust's bot bans its own users", r)
		}
		literal := "@" + asLiteral.Replace(localOf(r.Entity)) + ":" + serverOf(r.Entity)
		if _, err := spec.NewUserID(literal, true); err != nil || !strings.HasPrefix(r.Entity, "@") {
			t.Fatalf("user rule in force about %q, not a user ID: %v", r.Entity, err)
		}
		if i := strings.IndexAny(localOf(r.Entity), wildcards); i >= 0 && i < minGlobPrefix {
			t.Fatalf("user rule in force about %q, a glob without a stem", r.Entity)
		}
		if _, isBot := fedAuth.Bots[r.Entity]; isBot {
			t.Fatalf("user rule in force banning a bot: %+v", r)
		}
	case KindServer, KindRoom:
		if r.Sender != admin {
			t.Fatalf("%s rule %+v in force from someone not a federation admin", r.Kind, r)
		}
		if r.Kind == KindServer && r.Recommendation == Allow && hasWildcard(r.Entity) {
			t.Fatalf("member trust named by a glob: %+v", r)
		}
		if r.Kind == KindRoom && (r.Recommendation != Ban || !strings.ContainsAny(r.Entity[:1], "!#")) {
			t.Fatalf("room rule in force: %+v", r)
		}
		if r.Kind == KindServer && strings.Trim(r.Entity, wildcards+".") == "" ||
			r.Kind == KindRoom && strings.Trim(r.Entity[1:], wildcards) == "" {
			t.Fatalf("%s rule in force naming no %s in particular: %+v", r.Kind, r.Kind, r)
		}
	default:
		t.Fatalf("rule of unknown kind in force: %+v", r)
	}
	if len(r.Entity) > maxIDLength {
		t.Fatalf("rule in force about an entity of %d bytes", len(r.Entity))
	}
}

// FuzzContent checks the reading of a rule's content alone: what is read
// as a rule has an entity and a recommendation that are non-empty strings
// in the content; anything else is a removal.
func FuzzContent(f *testing.F) {
	for _, s := range []string{rule("@a:b", "m.ban", "r"), `{}`, `null`, `{"entity":"x"}`, `{"entity":"","recommendation":"m.ban"}`, `{"entity":"x","recommendation":"m.ban","reason":7}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, removal := parseContent(raw)
		if removal {
			if c != (ruleContent{}) {
				t.Fatalf("%q read as a removal with %+v", raw, c)
			}
			return
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%q is not a JSON object, yet read as %+v", raw, c)
		}
		if c.Entity == "" || c.Recommendation == "" || m["entity"] != c.Entity || m["recommendation"] != c.Recommendation {
			t.Fatalf("%q read as %+v", raw, c)
		}
	})
}

// FuzzBanned publishes a trust bot's ban of any entity (a user or a glob
// over a localpart) and asks whether any user is banned by it: a ban
// reaches only users on the bot's own server — never another trust's,
// never a bot — and only the user it names or, for a glob, users whose
// localpart the glob matches.
func FuzzBanned(f *testing.F) {
	for _, s := range [][2]string{
		{"@nurse.jones:trust-a", "@nurse.jones:trust-a"},
		{"@locum.*:trust-a", "@locum.smith:trust-a"},
		{"@locum.*:trust-a", "@locum.smith:trust-b"},
		{"@loc?m*:trust-a", "@locum:trust-a:8448"},
		{"@cal*:trust-a", "@caldicott:trust-a"},
		{"@*:trust-a", "@anyone:trust-a"},
		{"@LOCUM.*:trust-a", "@locum.smith:trust-a"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, entity, user string) {
		l := newList(t, Limits{})
		c := l.Apply(userBan(botA, entity))
		r, banned := l.Banned(user)
		matches := l.MatchUser(user)
		if banned != (len(matches) > 0) {
			t.Fatalf("Banned(%s) = %v, MatchUser finds %d", user, banned, len(matches))
		}
		if !banned {
			if c.Added != nil && c.Added.Entity == user {
				t.Fatalf("ban of %s in force, yet %s is not banned", entity, user)
			}
			return
		}
		if c.Added == nil || r.EventID != c.Added.EventID {
			t.Fatalf("%s banned by %+v, which was never added (%+v)", user, r, c)
		}
		local, server, _ := splitUserID(user)
		if server != "trust-a" || user == botA || user == botB {
			t.Fatalf("trust-a's ban of %s reaches %s", entity, user)
		}
		if user != entity && !(hasWildcard(entity) && globMatches(localOf(entity), local)) {
			t.Fatalf("ban of %s reaches %s", entity, user)
		}
	})
}

// globMatches is a plain glob match ('*' any run, '?' one character),
// written here so the list's own matcher is checked against another: the
// usual two-pointer walk, going back to the last star on a mismatch.
func globMatches(pattern, s string) bool {
	p, i := 0, 0
	star, from := -1, 0
	for i < len(s) {
		_, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, from = p, i
			p++
		case p < len(pattern) && pattern[p] == '?':
			p, i = p+1, i+n
		case p < len(pattern) && pattern[p] == s[i]:
			p, i = p+1, i+1
		case star >= 0:
			_, m := utf8.DecodeRuneInString(s[from:])
			from += m
			p, i = star+1, from
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
