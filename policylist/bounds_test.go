package policylist

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMaxRules(t *testing.T) {
	l := newList(t, Limits{MaxRules: 3})
	var keys []string
	for i := range 3 {
		keys = append(keys, mustAdd(t, l, userBan(botB, fmt.Sprintf("@leaver%d:trust-b", i))).StateKey)
	}
	mustRefuse(t, l, userBan(botB, "@leaver3:trust-b"), "maximum of 3 rules")
	mustRefuse(t, l, trustAllow(admin, "trust-c"), "maximum of 3 rules")
	if banned(l, "@leaver3:trust-b") {
		t.Fatal("a rule beyond the bound was applied")
	}
	// Replacing a rule does not grow the list, so it is still allowed.
	if c := l.Apply(userBanAt(botB, keys[0], "@leaver9:trust-b")); !c.Replaced() {
		t.Fatalf("replacement when full: %+v", c)
	}
	// A withdrawal makes room.
	if c := l.Apply(ev(TypeUserRule, keys[1], botB, "")); c.Removed == nil {
		t.Fatalf("removal when full: %+v", c)
	}
	mustAdd(t, l, userBan(botB, "@leaver3:trust-b"))
	if n := l.Counts().Rules; n != 3 {
		t.Errorf("Counts().Rules = %d, want 3", n)
	}
}

func TestDefaultLimits(t *testing.T) {
	l := newList(t, Limits{})
	if l.limits.MaxRules != DefaultMaxRules || l.limits.MaxRefusals != DefaultMaxRefusals || l.limits.MaxReasonBytes != DefaultMaxReasonBytes {
		t.Errorf("defaults: %+v", l.limits)
	}
}

func TestReasonIsCleanedAndTruncated(t *testing.T) {
	l := newList(t, Limits{MaxReasonBytes: 20})
	long := strings.Repeat("é", 30) // two bytes each: the cut must not split one
	got := mustAdd(t, l, ev(TypeUserRule, "k", botB, rule(regB, "m.ban", long)))
	if !utf8.ValidString(got.Reason) || len(got.Reason) > 20+len("…") || !strings.HasSuffix(got.Reason, "…") {
		t.Errorf("reason %q (%d bytes)", got.Reason, len(got.Reason))
	}
	got = mustAdd(t, l, ev(TypeUserRule, "k2", botB, rule(nurseB, "m.ban", "left\n@room ALL OK")))
	if strings.ContainsAny(got.Reason, "\n\r") {
		t.Errorf("a newline in a reason could forge a report line: %q", got.Reason)
	}
	if got.Reason != "left @room ALL OK" {
		t.Errorf("reason %q", got.Reason)
	}
	short := mustAdd(t, l, ev(TypeUserRule, "k3", botB, rule("@x:trust-b", "m.ban", "left")))
	if short.Reason != "left" {
		t.Errorf("a short reason changed: %q", short.Reason)
	}
}

// A member writing junk in a loop costs a fixed amount of memory; the count
// still says how much there was.
func TestRefusalsAreBounded(t *testing.T) {
	l := newList(t, Limits{MaxRefusals: 2})
	var ids []string
	for i := range 5 {
		e := userBan(nurseB, fmt.Sprintf("@x%d:trust-b", i))
		ids = append(ids, e.EventID)
		mustRefuse(t, l, e, "not a trust's bot")
	}
	got := l.Refused()
	if len(got) != 2 || got[0].EventID != ids[3] || got[1].EventID != ids[4] {
		t.Errorf("kept %+v, want the last two, oldest first", got)
	}
	if n := l.Counts().Refused; n != 5 {
		t.Errorf("Counts().Refused = %d, want 5", n)
	}
	// A kept refusal delivered again is not reported again; an evicted one
	// is: memory is bounded, and so is the deduplication.
	again := func(id string) Change {
		return l.Apply(Event{Type: TypeUserRule, StateKey: "x", Sender: nurseB, EventID: id, Content: []byte(rule(regB, "m.ban", ""))})
	}
	if c := again(ids[4]); !c.None() {
		t.Errorf("a kept refusal re-reported: %+v", c)
	}
	if c := again(ids[0]); c.Refused == nil {
		t.Errorf("an evicted refusal delivered again: %+v", c)
	}
}
