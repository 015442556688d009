package policy

import (
	"reflect"
	"strings"
	"testing"
)

var req = Requirements{
	BotUserID:         "@caldicott:trust-a.nhs.uk",
	OwnServer:         "trust-a.nhs.uk",
	FederationServers: []string{"trust-b.nhs.uk:8448", "trust-c.nhs.uk"},
	HistoryVisibility: "joined",
}

func defaultPL(users map[string]int64) PowerLevels {
	return PowerLevels{Users: users, StateDefault: 50, Kick: 50, Ban: 50, Redact: 50, Events: map[string]int64{}}
}

// hardened is a clinical room that meets every rule.
func hardened() RoomFacts {
	return RoomFacts{
		RoomID: "!r:trust-a.nhs.uk", Class: Clinical,
		JoinRule: "invite", GuestAccess: "forbidden", HistoryVisibility: "joined",
		EncryptionAlgorithm: MegolmAlgorithm,
		ServerACL:           &ServerACL{Allow: []string{"trust-c.nhs.uk", "trust-a.nhs.uk", "trust-b.nhs.uk"}},
		PowerLevels:         defaultPL(map[string]int64{req.BotUserID: 100, "@alice:trust-a.nhs.uk": 100}),
	}
}

func TestRequiredACL(t *testing.T) {
	tests := []struct {
		name string
		r    Requirements
		want ServerACL
	}{
		{"names without ports, sorted, own server included", req, ServerACL{Allow: []string{"trust-a.nhs.uk", "trust-b.nhs.uk", "trust-c.nhs.uk"}, Deny: []string{}}},
		{"IP literal servers enable IP literals", Requirements{OwnServer: "127.0.0.11:8448", FederationServers: []string{"127.0.0.12:8448", "127.0.0.11:9999"}}, ServerACL{Allow: []string{"127.0.0.11", "127.0.0.12"}, Deny: []string{}, AllowIPLiterals: true}},
		{"IPv6 literal", Requirements{OwnServer: "[::1]:8448"}, ServerACL{Allow: []string{"::1"}, Deny: []string{}, AllowIPLiterals: true}},
		{"invalid names skipped", Requirements{OwnServer: "a.org", FederationServers: []string{"bad name"}}, ServerACL{Allow: []string{"a.org"}, Deny: []string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RequiredACL(tt.r); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("RequiredACL = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHarden(t *testing.T) {
	tests := []struct {
		name         string
		mutate       func(f *RoomFacts)
		r            func(r *Requirements)
		wantFixes    []string // rule names fixed, in rule order
		wantProblems []string
	}{
		{"compliant room needs nothing", func(*RoomFacts) {}, nil, nil, nil},
		{"not clinical needs nothing", func(f *RoomFacts) { *f = RoomFacts{Class: Social, JoinRule: "public"} }, nil, nil, nil},
		{"unclassified needs nothing", func(f *RoomFacts) { f.Class = Unclassified; f.JoinRule = "public" }, nil, nil, nil},
		{"public join rule", func(f *RoomFacts) { f.JoinRule = "public" }, nil, []string{RuleJoinRule}, nil},
		{"restricted join rule", func(f *RoomFacts) { f.JoinRule = "restricted" }, nil, []string{RuleJoinRule}, nil},
		{"knock refused where knocking is unsupported", func(f *RoomFacts) { f.JoinRule = "knock" }, nil, []string{RuleJoinRule}, nil},
		{"knock accepted where knocking is supported", func(f *RoomFacts) { f.JoinRule = "knock" }, func(r *Requirements) { r.KnockAllowed = true }, nil, nil},
		{"missing join rule means invite", func(f *RoomFacts) { f.JoinRule = "" }, nil, nil, nil},
		{"guests allowed", func(f *RoomFacts) { f.GuestAccess = "can_join" }, nil, []string{RuleGuestAccess}, nil},
		{"history shared", func(f *RoomFacts) { f.HistoryVisibility = "shared" }, nil, []string{RuleHistoryVisibility}, nil},
		{"history world readable", func(f *RoomFacts) { f.HistoryVisibility = "world_readable" }, nil, []string{RuleHistoryVisibility}, nil},
		{"history missing", func(f *RoomFacts) { f.HistoryVisibility = "" }, nil, []string{RuleHistoryVisibility}, nil},
		{"history invited is fine", func(f *RoomFacts) { f.HistoryVisibility = "invited" }, nil, nil, nil},
		{"unencrypted", func(f *RoomFacts) { f.EncryptionAlgorithm = "" }, nil, []string{RuleEncryption}, nil},
		{"wrong algorithm", func(f *RoomFacts) { f.EncryptionAlgorithm = "m.olm.v1" }, nil, []string{RuleEncryption}, nil},
		{"ACL removed", func(f *RoomFacts) { f.ServerACL = nil }, nil, []string{RuleServerACL}, nil},
		{"ACL wildcard", func(f *RoomFacts) { f.ServerACL = &ServerACL{Allow: []string{"*"}} }, nil, []string{RuleServerACL}, nil},
		{"ACL missing a trust", func(f *RoomFacts) { f.ServerACL.Allow = f.ServerACL.Allow[:2] }, nil, []string{RuleServerACL}, nil},
		{"ACL with outsider", func(f *RoomFacts) { f.ServerACL.Allow = append(f.ServerACL.Allow, "matrix.org") }, nil, []string{RuleServerACL}, nil},
		{"ACL IP literal flag wrong", func(f *RoomFacts) { f.ServerACL.AllowIPLiterals = true }, nil, []string{RuleServerACL}, nil},
		{"everything wrong", func(f *RoomFacts) {
			f.JoinRule, f.GuestAccess, f.HistoryVisibility, f.EncryptionAlgorithm, f.ServerACL = "public", "can_join", "shared", "", nil
		}, nil, []string{RuleEncryption, RuleJoinRule, RuleGuestAccess, RuleHistoryVisibility, RuleServerACL}, nil},
		{"bot demoted but still able to fix", func(f *RoomFacts) { f.PowerLevels.Users[req.BotUserID] = 50; f.JoinRule = "public" }, nil, []string{RuleJoinRule}, []string{RuleBotPower}},
		{"bot without power cannot fix", func(f *RoomFacts) { delete(f.PowerLevels.Users, req.BotUserID); f.JoinRule = "public" }, nil, nil, []string{RuleBotPower, RuleJoinRule}},
		{"event level above bot", func(f *RoomFacts) {
			f.PowerLevels.Users[req.BotUserID] = 60
			f.PowerLevels.Events["m.room.server_acl"] = 100
			f.ServerACL = nil
		}, nil, nil, []string{RuleBotPower, RuleServerACL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := hardened()
			tt.mutate(&f)
			r := req
			if tt.r != nil {
				tt.r(&r)
			}
			d := Harden(f, r)
			var fixes, problems []string
			for _, a := range d.Fixes() {
				fixes = append(fixes, a.Rule)
				if a.Reason == "" || a.Text == "" || a.Content == nil {
					t.Errorf("fix %s lacks reason, text or content: %+v", a.Rule, a)
				}
			}
			for _, p := range d.Problems {
				problems = append(problems, p.Rule)
			}
			if !reflect.DeepEqual(fixes, tt.wantFixes) || !reflect.DeepEqual(problems, tt.wantProblems) {
				t.Errorf("fixes = %v problems = %v; want %v %v", fixes, problems, tt.wantFixes, tt.wantProblems)
			}
			if d.Compliant() != (len(tt.wantFixes) == 0 && len(tt.wantProblems) == 0) {
				t.Errorf("Compliant() = %v", d.Compliant())
			}
		})
	}
}

func TestHardenFixContents(t *testing.T) {
	f := RoomFacts{Class: Clinical, PowerLevels: defaultPL(map[string]int64{req.BotUserID: 100})}
	r := req
	r.HistoryVisibility = "invited"
	want := map[string]map[string]any{
		"m.room.encryption":         {"algorithm": MegolmAlgorithm},
		"m.room.join_rules":         {"join_rule": "invite"},
		"m.room.guest_access":       {"guest_access": "forbidden"},
		"m.room.history_visibility": {"history_visibility": "invited"},
		"m.room.server_acl":         {"allow": []string{"trust-a.nhs.uk", "trust-b.nhs.uk", "trust-c.nhs.uk"}, "deny": []string{}, "allow_ip_literals": false},
	}
	// A room with no state at all: join rule and guest access absent mean
	// invite and forbidden, so only three fixes are needed.
	got := map[string]map[string]any{}
	for _, a := range Harden(f, r).Fixes() {
		got[a.EventType] = a.Content
	}
	for typ, content := range got {
		if !reflect.DeepEqual(content, want[typ]) {
			t.Errorf("%s content = %v, want %v", typ, content, want[typ])
		}
	}
	if len(got) != 3 {
		t.Errorf("fixes for a bare room = %v, want encryption, history and ACL", got)
	}
}

func TestProblemTextSaysWhatIsMissing(t *testing.T) {
	f := hardened()
	f.PowerLevels.Users[req.BotUserID] = 0
	f.JoinRule = "public"
	d := Harden(f, req)
	text := strings.Join(d.ProblemTexts(), "\n")
	for _, want := range []string{"I am at power level 0", "needs me at 100", "The join rule is public but must be invite only", "needs power level 50 and I have 0"} {
		if !strings.Contains(text, want) {
			t.Errorf("problem text lacks %q:\n%s", want, text)
		}
	}
}

func TestChecks(t *testing.T) {
	f := hardened()
	f.GuestAccess = "can_join"
	var bad []string
	for _, c := range Checks(f, req) {
		if !c.OK {
			bad = append(bad, c.Rule)
		}
	}
	if !reflect.DeepEqual(bad, []string{RuleGuestAccess}) {
		t.Errorf("failing checks = %v", bad)
	}
	if n := len(Checks(f, req)); n != 6 {
		t.Errorf("checks = %d, want 6", n)
	}
}
