package policy

import (
	"strings"
	"testing"
	"time"
)

func TestSuccessionGenuine(t *testing.T) {
	const old, repl = "!old:a", "!new:a"
	cases := []struct {
		name     string
		s        Succession
		genuine  bool
		whyHints string
	}{
		{"rooms name each other", Succession{OldRoom: old, NewRoom: repl, Tombstone: repl, Predecessor: old}, true, ""},
		{"tombstone points elsewhere", Succession{OldRoom: old, NewRoom: repl, Tombstone: "!other:a", Predecessor: old}, false, "replaced by !other:a, not by !new:a"},
		{"old room not replaced", Succession{OldRoom: old, NewRoom: repl, Predecessor: old}, false, "has no tombstone"},
		{"tombstone at a room of someone's choosing", Succession{OldRoom: old, NewRoom: repl, Tombstone: repl}, false, "names no earlier room"},
		{"new room names another predecessor", Succession{OldRoom: old, NewRoom: repl, Tombstone: repl, Predecessor: "!else:a"}, false, "names !else:a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, why := c.s.Genuine()
			if ok != c.genuine || !strings.Contains(why, c.whyHints) {
				t.Fatalf("Genuine() = %v, %q; want %v, %q", ok, why, c.genuine, c.whyHints)
			}
		})
	}
}

func TestCarryOverState(t *testing.T) {
	old := RoomFacts{RoomID: "!old:a", Class: Clinical, Policy: PolicyContent{Class: Clinical, AllowedRoles: []string{"Consultant"}, AutoApprove: AutoApproveDirectory}, Retention: []byte(`{"max_lifetime": 86400000}`)}
	cases := []struct {
		name  string
		repl  RoomFacts
		types []string
		texts []string
	}{
		{"copied faithfully: nothing to do", RoomFacts{RoomID: "!new:a", Class: Clinical, Policy: PolicyContent{Class: Clinical, AllowedRoles: []string{"Consultant"}, AutoApprove: AutoApproveDirectory}, Retention: []byte(`{"max_lifetime":86400000}`)}, nil, nil},
		{"class changed before the bot came", RoomFacts{RoomID: "!new:a", Class: Social, Policy: PolicyContent{Class: Social, AllowedRoles: []string{"Consultant"}, AutoApprove: AutoApproveDirectory}, Retention: []byte(`{"max_lifetime":86400000}`)},
			[]string{PolicyEventType}, []string{"the room's class: social → clinical"}},
		{"options dropped", RoomFacts{RoomID: "!new:a", Class: Clinical, Policy: PolicyContent{Class: Clinical}, Retention: []byte(`{"max_lifetime":86400000}`)}, []string{PolicyEventType}, []string{"class and options"}},
		{"retention lengthened", RoomFacts{RoomID: "!new:a", Class: Clinical, Policy: PolicyContent{Class: Clinical, AllowedRoles: []string{"Consultant"}, AutoApprove: AutoApproveDirectory}, Retention: []byte(`{"max_lifetime":999999999}`)},
			[]string{RetentionEventType}, []string{"deletion period"}},
		{"nothing copied", RoomFacts{RoomID: "!new:a"}, []string{PolicyEventType, RetentionEventType}, []string{"none → clinical", "deletion period"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := CarryOverState(old, c.repl)
			if len(d.Actions) != len(c.types) {
				t.Fatalf("actions = %+v, want %v", d.Actions, c.types)
			}
			for i, a := range d.Actions {
				if a.Kind != SetState || a.EventType != c.types[i] || !strings.Contains(a.Text, c.texts[i]) || a.Rule != RuleRoomUpgrade {
					t.Errorf("action %d = %+v", i, a)
				}
			}
			if len(d.Actions) > 0 && d.Actions[0].EventType == PolicyEventType {
				if got := d.Actions[0].Content; got["class"] != "clinical" || got["auto_approve"] != AutoApproveDirectory {
					t.Errorf("policy content = %v", got)
				}
			}
		})
	}
}

func TestUpgradeNotices(t *testing.T) {
	s := Succession{OldRoom: "!old:a", NewRoom: "!new:a", UpgradedBy: "@admin:a", Tombstone: "!new:a"}
	d := ReplacementUnprotected(s, Clinical, "@caldicott:a", "not invited")
	if len(d.Actions) != 2 || d.Actions[0].Kind != NotifyRoom || d.Actions[1].Kind != NotifyManagement {
		t.Fatalf("unprotected = %+v", d.Actions)
	}
	for _, want := range []string{"NOT protected", "invite @caldicott:a to the new room", "!new:a", "not invited"} {
		if !strings.Contains(d.Actions[0].Text, want) || (want != "invite @caldicott:a to the new room" && !strings.Contains(d.Actions[1].Text, want)) {
			t.Errorf("notices lack %q: %+v", want, d.Actions)
		}
	}
	if len(d.Actions[0].Mentions) != 1 || d.Actions[0].Mentions[0] != "@admin:a" {
		t.Errorf("the person who upgraded is not called on: %v", d.Actions[0].Mentions)
	}

	g := ReplacementGuarded(s, Carried{Class: Clinical, LegalHold: true, Records: 2, Review: true, Requests: 1, Downgrade: true, SetBack: []string{"the room's class: social → clinical"}})
	room := g.Actions[0].Text
	for _, want := range []string{"replaces !old:a", "legal hold", "2 message(s) waiting for the patient record", "review schedule", "1 pending access request", "confirm-downgrade !new:a", "Set back", "social → clinical"} {
		if !strings.Contains(room, want) {
			t.Errorf("guarded notice lacks %q: %s", want, room)
		}
	}
	bare := ReplacementGuarded(s, Carried{Class: Social}).Actions[0].Text
	if strings.Contains(bare, "legal hold") || strings.Contains(bare, "patient record") {
		t.Errorf("notice names what was not there: %s", bare)
	}

	r := RefuseSuccession(s, "it names no earlier room")
	if len(r.Actions) != 2 || !strings.Contains(r.Actions[1].Text, "Refused") || !strings.Contains(r.Actions[0].Text, "did not carry") {
		t.Errorf("refusal = %+v", r.Actions)
	}
	if j := JoinReplacement(s); len(j.Actions) != 1 || j.Actions[0].Kind != Join || j.Actions[0].Target != "!new:a" {
		t.Errorf("join = %+v", j.Actions)
	}
}

func TestInReplacement(t *testing.T) {
	d := RecordReminder("$cmd", time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC), map[string]string{"@admin:a": "Alice"}).InReplacement("!old:a")
	a := d.Actions[0]
	if a.Kind != NotifyRoom || a.EventID != "" || !strings.HasPrefix(a.Text, "About a message in the room this one replaces (!old:a): ") || len(a.Mentions) != 1 {
		t.Fatalf("reminder in the replacement = %+v", a)
	}
	if kept := RoomNotice(RuleNotice, "x", "y").InReplacement("!old:a"); kept.Actions[0].Text != "x" {
		t.Errorf("a notice was changed: %+v", kept.Actions[0])
	}
}
