package policylist

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// Three trusts' worth of people: two federated trusts with their bots, an
// IG admin of the federation, ordinary staff, and an outside server.
const (
	botA    = "@caldicott:trust-a"
	botB    = "@caldicott:trust-b"
	admin   = "@ig.lead:trust-a"
	nurseB  = "@nurse.jones:trust-b"
	regA    = "@registrar:trust-a"
	regB    = "@registrar:trust-b"
	outside = "@someone:outside"
)

var fedAuth = Authority{
	Bots:   map[string]string{botA: "trust-a", botB: "trust-b"},
	Admins: []string{admin},
}

func newList(t testing.TB, limits Limits) *List {
	t.Helper()
	l, err := New(fedAuth, limits)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var eventSeq int

// ev builds a policy event; content is a JSON object or "" for empty content.
func ev(typ, stateKey, sender, content string) Event {
	eventSeq++
	if content == "" {
		content = "{}"
	}
	return Event{Type: typ, StateKey: stateKey, Sender: sender, EventID: fmt.Sprintf("$e%d", eventSeq), Content: json.RawMessage(content)}
}

func rule(entity, recommendation, reason string) string {
	b, _ := json.Marshal(map[string]string{"entity": entity, "recommendation": recommendation, "reason": reason})
	return string(b)
}

// userBan is what a trust's bot publishes for a leaver.
func userBan(sender, entity string) Event {
	return ev(TypeUserRule, "rule:"+entity, sender, rule(entity, "m.ban", "left the trust"))
}

func trustAllow(sender, server string) Event {
	return ev(TypeServerRule, "rule:"+server, sender, rule(server, AllowUnstable, "member trust"))
}

func mustAdd(t *testing.T, l *List, e Event) Rule {
	t.Helper()
	c := l.Apply(e)
	if c.Added == nil || c.Refused != nil {
		t.Fatalf("%s %s from %s: want added, got %+v (refused: %+v)", e.Type, e.Content, e.Sender, c, c.Refused)
	}
	return *c.Added
}

func mustRefuse(t *testing.T, l *List, e Event, reasonHas string) Refusal {
	t.Helper()
	c := l.Apply(e)
	if c.Refused == nil || c.Added != nil || c.Removed != nil {
		t.Fatalf("%s %s from %s: want refused, got %+v", e.Type, e.Content, e.Sender, c)
	}
	if !strings.Contains(c.Refused.Reason, reasonHas) {
		t.Errorf("reason %q does not say %q", c.Refused.Reason, reasonHas)
	}
	if c.Refused.Sender != e.Sender || c.Refused.EventID != e.EventID {
		t.Errorf("refusal lost who and which event: %+v", c.Refused)
	}
	return *c.Refused
}

func banned(l *List, userID string) bool {
	_, ok := l.Banned(userID)
	return ok
}
