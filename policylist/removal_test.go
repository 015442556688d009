package policylist

import (
	"encoding/json"
	"testing"
)

// Per the spec, a rule's key with empty content or with entity or
// recommendation missing or invalid no longer holds a rule.
func TestRemovalByItsPublisher(t *testing.T) {
	for name, content := range map[string]string{
		"empty object":           `{}`,
		"null":                   `null`,
		"entity missing":         `{"recommendation":"m.ban","reason":"back"}`,
		"entity not a string":    `{"entity":1,"recommendation":"m.ban"}`,
		"recommendation missing": `{"entity":"@registrar:trust-b"}`,
		"recommendation empty":   `{"entity":"@registrar:trust-b","recommendation":""}`,
		"not JSON":               `{`,
	} {
		t.Run(name, func(t *testing.T) {
			l := newList(t, Limits{})
			ban := mustAdd(t, l, userBan(botB, regB))
			c := l.Apply(Event{Type: TypeUserRule, StateKey: ban.StateKey, Sender: botB, EventID: "$unban", Content: json.RawMessage(content)})
			if c.Removed == nil || c.Added != nil || c.Refused != nil {
				t.Fatalf("want removed, got %+v", c)
			}
			if c.Removed.EventID != ban.EventID || c.Removed.Entity != regB {
				t.Errorf("removed %+v, want the ban", c.Removed)
			}
			if banned(l, regB) {
				t.Error("still banned after the removal")
			}
		})
	}
}

func TestRemovalOfNothingChangesNothing(t *testing.T) {
	l := newList(t, Limits{})
	for _, sender := range []string{botB, nurseB, outside} {
		if c := l.Apply(ev(TypeUserRule, "rule:nobody", sender, "")); !c.None() {
			t.Errorf("removal by %s at an empty key: %+v", sender, c)
		}
	}
	if n := l.Counts().Refused; n != 0 {
		t.Errorf("%d refusals for removing nothing", n)
	}
}

func TestReplacement(t *testing.T) {
	l := newList(t, Limits{})
	first := mustAdd(t, l, ev(TypeUserRule, "leaver-1", botB, rule(regB, "m.ban", "left")))
	c := l.Apply(ev(TypeUserRule, "leaver-1", botB, rule(nurseB, "m.ban", "suspended")))
	if !c.Replaced() || c.Removed.EventID != first.EventID || c.Added.Entity != nurseB {
		t.Fatalf("want the registrar's rule replaced by the nurse's, got %+v", c)
	}
	if banned(l, regB) || !banned(l, nurseB) {
		t.Error("the old entity must no longer match; the new one must")
	}
	if n := len(l.Rules()); n != 1 {
		t.Errorf("%d rules after a replacement, want 1", n)
	}
}

// The intake may see the same event twice (timeline, then a state snapshot):
// the second time changes nothing and reports nothing.
func TestSameEventTwice(t *testing.T) {
	l := newList(t, Limits{})
	ban := userBan(botB, regB)
	mustAdd(t, l, ban)
	if c := l.Apply(ban); !c.None() {
		t.Errorf("applied twice: %+v", c)
	}
	forged := userBan(botB, regA)
	mustRefuse(t, l, forged, "speaks for trust-b")
	if c := l.Apply(forged); !c.None() {
		t.Errorf("refused twice: %+v", c)
	}
	if n := l.Counts().Refused; n != 1 {
		t.Errorf("Counts().Refused = %d, want 1", n)
	}
}

func TestRedaction(t *testing.T) {
	l := newList(t, Limits{})
	ban := mustAdd(t, l, userBan(botB, regB))
	redact := func(sender, id string) Change {
		b, _ := json.Marshal(map[string]string{"redacts": id})
		return l.Apply(Event{Type: "m.room.redaction", Sender: sender, EventID: "$r-" + sender, Content: b})
	}
	// A moderator of another trust redacting B's leaver rule is an
	// unauthorised removal like any other.
	c := redact(regA, ban.EventID)
	if c.Refused == nil || c.Refused.Kept == nil || c.Refused.Kept.EventID != ban.EventID {
		t.Fatalf("redaction by %s: want refused with the ban kept, got %+v", regA, c)
	}
	if !banned(l, regB) {
		t.Fatal("an unauthorised redaction lifted the ban")
	}
	if c := redact(botB, "$not-a-rule"); !c.None() {
		t.Errorf("redacting something else: %+v", c)
	}
	if c := redact(botB, ban.EventID); c.Removed == nil || c.Removed.EventID != ban.EventID {
		t.Fatalf("redaction by the publisher: want removed, got %+v", c)
	}
	if banned(l, regB) {
		t.Error("still banned after its publisher redacted the rule")
	}
}
