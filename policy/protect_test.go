package policy

import (
	"strings"
	"testing"
)

func TestEnforce(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(f *RoomFacts)
		cause     Cause
		wantKinds string
		wantText  []string
	}{
		{"compliant: silence", func(*RoomFacts) {}, Cause{Kind: CauseDrift, Sender: "@m:a"}, "", nil},
		{"drift reverted and named", func(f *RoomFacts) { f.JoinRule = "public" }, Cause{Kind: CauseDrift, Sender: "@mallory:trust-a.nhs.uk", EventType: "m.room.join_rules"},
			"set_state notify_room", []string{"@mallory:trust-a.nhs.uk changed a protected setting", "the join rule: public → invite only"}},
		{"classification lists protections", func(f *RoomFacts) { f.EncryptionAlgorithm = "" }, Cause{Kind: CauseClassified, Sender: "@a:a"},
			"set_state notify_room", []string{"This room is now clinical", "end-to-end encryption: off → on"}},
		{"the federation's trusts changed: the ACL follows, without a notice", func(f *RoomFacts) { f.ServerACL = &ServerACL{Allow: []string{"trust-a.nhs.uk"}} }, Cause{Kind: CauseTrusts},
			"set_state", nil},
		{"reconcile after downtime", func(f *RoomFacts) { f.GuestAccess = "can_join" }, Cause{Kind: CauseReconcile},
			"set_state notify_room", []string{"while I was not watching", "guest access: can_join → forbidden"}},
		{"unrepairable reported to management", func(f *RoomFacts) { f.PowerLevels.Users[req.BotUserID] = 0; f.JoinRule = "public" }, Cause{Kind: CauseDrift, Sender: "@m:a", EventType: "m.room.power_levels"},
			"notify_room notify_management", []string{"NOT compliant", "Do not share patient information", "Clinical room !r:trust-a.nhs.uk is not compliant"}},
		{"partly repairable", func(f *RoomFacts) { f.PowerLevels.Users[req.BotUserID] = 50; f.GuestAccess = "can_join" }, Cause{Kind: CauseDrift, Sender: "@m:a"},
			"set_state notify_room notify_room notify_management", []string{"guest access", "I am at power level 50"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := hardened()
			tt.mutate(&f)
			d := Protect(f, req, tt.cause)
			var ks []string
			var texts []string
			for _, a := range d.Actions {
				ks = append(ks, string(a.Kind))
				texts = append(texts, a.Text, a.Reason)
			}
			if got := strings.Join(ks, " "); got != tt.wantKinds {
				t.Fatalf("actions = %q, want %q", got, tt.wantKinds)
			}
			all := strings.Join(texts, "\n")
			for _, w := range tt.wantText {
				if !strings.Contains(all, w) {
					t.Errorf("texts lack %q:\n%s", w, all)
				}
			}
		})
	}
}

func TestEnforceDriftReasonNamesSender(t *testing.T) {
	f := hardened()
	f.ServerACL = nil
	d := Protect(f, req, Cause{Kind: CauseDrift, Sender: "@mallory:x", EventType: "m.room.server_acl"})
	if fx := d.Fixes(); len(fx) != 1 || !strings.Contains(fx[0].Reason, "changed by @mallory:x") {
		t.Fatalf("fix reason does not name sender: %+v", fx)
	}
}

func TestPlanNewRoom(t *testing.T) {
	p := PlanNewRoom(Clinical, "Ward 7", "@alice:trust-a.nhs.uk", req)
	if p.Name != "Ward 7" || p.Preset != "private_chat" || len(p.Invite) != 1 || p.Invite[0] != "@alice:trust-a.nhs.uk" {
		t.Fatalf("plan = %+v", p)
	}
	users := p.PowerUsers
	if users[req.BotUserID] != BotPowerLevel || users["@alice:trust-a.nhs.uk"] != BotPowerLevel {
		t.Errorf("power levels = %v", users)
	}
	// The planned initial state, read back as facts, must be compliant.
	f := RoomFacts{Class: Clinical, PowerLevels: defaultPL(map[string]int64{req.BotUserID: 100})}
	types := map[string]bool{}
	for _, ev := range p.InitialState {
		types[ev.Type] = true
		switch ev.Type {
		case "m.room.encryption":
			f.EncryptionAlgorithm = ev.Content["algorithm"].(string)
		case "m.room.join_rules":
			f.JoinRule = ev.Content["join_rule"].(string)
		case "m.room.guest_access":
			f.GuestAccess = ev.Content["guest_access"].(string)
		case "m.room.history_visibility":
			f.HistoryVisibility = ev.Content["history_visibility"].(string)
		case "m.room.server_acl":
			f.ServerACL = &ServerACL{Allow: ev.Content["allow"].([]string), AllowIPLiterals: ev.Content["allow_ip_literals"].(bool)}
		case PolicyEventType:
			if ev.Content["class"] != "clinical" {
				t.Errorf("policy content = %v", ev.Content)
			}
		}
	}
	if d := Harden(f, req); !d.Compliant() {
		t.Errorf("new clinical room would not be compliant: %+v", d)
	}
	social := PlanNewRoom(Social, "Tea", "@a:x", req)
	if len(social.InitialState) != 1 || social.InitialState[0].Type != PolicyEventType {
		t.Errorf("social room state = %+v", social.InitialState)
	} else if c := social.InitialState[0].Content; len(c) != 2 || c["class"] != "social" || c["classified_by"] != "@a:x" {
		t.Errorf("social room policy = %v; want its class and who asked for it", c)
	}
	if !types["m.room.server_acl"] || !types["m.room.encryption"] {
		t.Errorf("clinical plan lacks protections: %v", types)
	}
}
