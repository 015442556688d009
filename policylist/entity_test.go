package policylist

import (
	"strings"
	"testing"
)

// Globs that would ban everyone, a whole trust or most of it are refused;
// so is anything that is not a user ID. Each is sent by trust B's bot, so
// the entity is the only thing wrong.
func TestUserEntities(t *testing.T) {
	for _, tc := range []struct {
		entity string
		refuse string // "" = accepted
	}{
		{"@registrar:trust-b", ""},
		{"@Registrar.Old_Style=1:trust-b", ""},
		{"@locum.smith*:trust-b", ""},
		{"@locum.smit?:trust-b", ""},
		{"*", "every user on every server"},
		{"**", "every user on every server"},
		{"@*", "every user on every server"},
		{"@*:*", "every user on every server"},
		{"*:*", "every user on every server"},
		{"@*:trust-b", "every user on trust-b"},
		{"*:trust-b", "every user on trust-b"},
		{"@?*:trust-b", "every user on trust-b"},
		{"@???:trust-b", "every user on trust-b"},
		{"@*a*:trust-b", "too broad"},
		{"@a*:trust-b", "too broad"},
		{"@re?istrar:trust-b", "too broad"},
		{"@registrar:*", "names its server by a glob"},
		{"@registrar:trust-*", "names its server by a glob"},
		{"@registrar:trust-?", "names its server by a glob"},
		{"registrar", "not a user ID"},
		{"registrar:trust-b", "not a user ID"},
		{"@registrar", "not a user ID"},
		{"@:trust-b", "name before the server is empty"},
		{"@reg istrar:trust-b", "not a valid user ID"},
		{"@registrar:trust b", "not a valid user ID"},
		{"@registrar:", "not a valid user ID"},
		{"@régistrar:trust-b", "not a valid user ID"},
		{"@" + strings.Repeat("r", 260) + ":trust-b", "longer than a user ID"},
	} {
		t.Run(tc.entity, func(t *testing.T) {
			l := newList(t, Limits{})
			e := ev(TypeUserRule, "k", botB, rule(tc.entity, "m.ban", "r"))
			if tc.refuse == "" {
				mustAdd(t, l, e)
				return
			}
			r := mustRefuse(t, l, e, tc.refuse)
			if len(r.Entity) > 258 {
				t.Errorf("refusal keeps %d bytes of entity", len(r.Entity))
			}
			if banned(l, regB) || banned(l, nurseB) {
				t.Error("a refused glob bans someone")
			}
		})
	}
}

// A glob matches the localpart of users on its own server only: no pattern
// reaches across servers, whatever characters a server name holds.
func TestUserGlobMatching(t *testing.T) {
	l := newList(t, Limits{})
	mustAdd(t, l, userBan(botB, "@locum.smith*:trust-b"))
	for user, want := range map[string]bool{
		"@locum.smith:trust-b":      true,
		"@locum.smith2:trust-b":     true,
		"@locum.smith.x:trust-b":    true,
		"@locum.smith2:trust-a":     false,
		"@locum.smith:trust-b:8448": false,
		"@locum.jones:trust-b":      false,
		"@LOCUM.SMITH:trust-b":      false,
		"locum.smith:trust-b":       false,
		"@locum.smith":              false,
	} {
		if got := banned(l, user); got != want {
			t.Errorf("Banned(%q) = %v, want %v", user, got, want)
		}
	}
}

func TestServerAndRoomEntities(t *testing.T) {
	for _, tc := range []struct {
		typ, entity, recommendation, refuse string
	}{
		{TypeServerRule, "trust-c", "m.allow", ""},
		{TypeServerRule, "matrix.trust-c.nhs.uk", "m.allow", ""},
		{TypeServerRule, "matrix.trust-c.nhs.uk:8448", "m.allow", ""},
		{TypeServerRule, "127.0.0.1", "m.allow", ""},
		{TypeServerRule, "[::1]:8448", "m.allow", ""},
		{TypeServerRule, "*.nhs.uk", "m.allow", "must be named exactly"},
		{TypeServerRule, "*", "m.allow", "must be named exactly"},
		{TypeServerRule, "*.evil.example", "m.ban", ""},
		{TypeServerRule, "evil?.example", "m.ban", ""},
		{TypeServerRule, "*", "m.ban", "every server"},
		{TypeServerRule, "*.*", "m.ban", "every server"},
		{TypeServerRule, "?", "m.ban", "every server"},
		{TypeServerRule, "@someone:outside", "m.ban", "not a server name"},
		{TypeServerRule, "trust c", "m.allow", "not a server name"},
		{TypeServerRule, "trust-c/", "m.allow", "not a server name"},
		{TypeServerRule, strings.Repeat("a", 256), "m.allow", "longer than a server name"},
		{TypeRoomRule, "!abc:trust-a", "m.ban", ""},
		{TypeRoomRule, "!abcdefghijklmnop", "m.ban", ""},
		{TypeRoomRule, "#spam*:evil.example", "m.ban", ""},
		{TypeRoomRule, "*", "m.ban", "every room"},
		{TypeRoomRule, "!*", "m.ban", "every room"},
		{TypeRoomRule, "#?*", "m.ban", "every room"},
		{TypeRoomRule, "room", "m.ban", "not a room ID"},
		// Found by FuzzApply: a sigil alone names no room.
		{TypeRoomRule, "!", "m.ban", "not a room ID"},
		{TypeRoomRule, "#", "m.ban", "not a room ID"},
		{TypeRoomRule, "!a b", "m.ban", "spaces"},
		{TypeRoomRule, "!abc:trust-a", "m.allow", "may only ban"},
		{TypeRoomRule, "!" + strings.Repeat("a", 255), "m.ban", "longer than a room ID"},
	} {
		t.Run(tc.typ+" "+tc.recommendation+" "+tc.entity, func(t *testing.T) {
			l := newList(t, Limits{})
			e := ev(tc.typ, "k", admin, rule(tc.entity, tc.recommendation, "r"))
			if tc.refuse == "" {
				mustAdd(t, l, e)
				return
			}
			mustRefuse(t, l, e, tc.refuse)
		})
	}
}

// Globs are indexed by their literal stem; a glob whose stem is exactly
// minGlobPrefix long, or that uses '?', is still found, and a withdrawn
// glob leaves the index.
func TestUserGlobIndex(t *testing.T) {
	l := newList(t, Limits{})
	short := mustAdd(t, l, userBan(botB, "@loc*:trust-b"))
	mustAdd(t, l, userBan(botB, "@bank.?:trust-b"))
	for user, want := range map[string]bool{
		"@loc:trust-b":     true,
		"@locum.x:trust-b": true,
		"@lo:trust-b":      false,
		"@bank.7:trust-b":  true,
		"@bank.77:trust-b": false,
		"@bank.7:trust-a":  false,
	} {
		if got := banned(l, user); got != want {
			t.Errorf("Banned(%q) = %v, want %v", user, got, want)
		}
	}
	l.Apply(ev(TypeUserRule, short.StateKey, botB, ""))
	if banned(l, "@locum.x:trust-b") || len(l.globBans) != 1 {
		t.Errorf("withdrawn glob still indexed: %v", l.globBans)
	}
}
