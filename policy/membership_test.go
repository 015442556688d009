package policy

import (
	"strings"
	"testing"
)

func TestJudgeMember(t *testing.T) {
	alice := entry(StatusActive, "Consultant", "Cardiology")
	tests := []struct {
		name      string
		m         MemberCheck
		wantKinds string
		wantText  []string
	}{
		{"eligible joiner: identity posted", MemberCheck{JoinFacts: JoinFacts{UserID: "@alice:trust-a.nhs.uk", Membership: MembershipJoin, Class: Clinical, Entry: alice}, DisplayName: "Alice Smith"},
			"notify_room", []string{"@alice:trust-a.nhs.uk joined: Alice Smith · Consultant · Cardiology · GMC 1234567 · Trust A."}},
		{"eligible joiner with another name: identity only", MemberCheck{JoinFacts: JoinFacts{UserID: "@alice:trust-a.nhs.uk", Membership: MembershipJoin, Class: Clinical, Entry: alice}, DisplayName: "alice"},
			"notify_room", []string{"@alice:trust-a.nhs.uk joined: Alice Smith · Consultant · Cardiology · GMC 1234567 · Trust A."}},
		{"eligible joiner showing someone else's name: flagged", MemberCheck{JoinFacts: JoinFacts{UserID: "@alice:trust-a.nhs.uk", Membership: MembershipJoin, Class: Clinical, Entry: alice}, DisplayName: "Dr B0b Jones", StaffNames: map[string]string{"@bob:trust-a.nhs.uk": "Bob Jones"}},
			"notify_room", []string{"joined: Alice Smith", `⚠ @alice:trust-a.nhs.uk shows the name "Dr B0b Jones", which looks like "Bob Jones", the staff directory's name for @bob:trust-a.nhs.uk`}},
		{"eligible invitee: silent", MemberCheck{JoinFacts: JoinFacts{UserID: "@alice:trust-a.nhs.uk", Membership: MembershipInvite, Class: Clinical, Entry: alice}},
			"", nil},
		{"federated joiner", MemberCheck{JoinFacts: JoinFacts{UserID: "@bob:trust-b.nhs.uk", Membership: MembershipJoin, Class: Clinical}},
			"notify_room", []string{"joined from trust-b.nhs.uk, a trust of this federation"}},
		{"not in directory: removed", MemberCheck{JoinFacts: JoinFacts{UserID: "@x:trust-a.nhs.uk", Membership: MembershipJoin, Class: Clinical}},
			"kick notify_room", []string{"is not in the staff directory of Trust A", "I removed @x:trust-a.nhs.uk from this clinical room (not in the staff directory)"}},
		{"not in directory on sweep: kept", MemberCheck{Mode: OnSweep, JoinFacts: JoinFacts{UserID: "@x:trust-a.nhs.uk", Membership: MembershipJoin, Class: Clinical}},
			"", nil},
		{"leaver on sweep: removed", MemberCheck{Mode: OnSweep, JoinFacts: JoinFacts{UserID: "@alice:trust-a.nhs.uk", Membership: MembershipJoin, Class: Clinical, Entry: entry(StatusLeft, "", "")}},
			"kick notify_room", []string{"you have left the trust", "(has left the trust)"}},
		{"puppet invite revoked", MemberCheck{JoinFacts: JoinFacts{UserID: "@whatsapp_1:trust-a.nhs.uk", Membership: MembershipInvite, Class: Clinical}},
			"kick notify_room", []string{"bridged account"}},
		{"empty directory: warn, keep", MemberCheck{JoinFacts: JoinFacts{UserID: "@x:trust-a.nhs.uk", Membership: MembershipJoin, Class: Clinical, DirectoryEmpty: true}},
			"notify_management", []string{"directory of Trust A is empty"}},
		{"social room: nothing", MemberCheck{JoinFacts: JoinFacts{UserID: "@x:matrix.org", Membership: MembershipJoin, Class: Social}}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := JudgeMember(tt.m, gateRules)
			var ks, texts []string
			for _, a := range d.Actions {
				ks = append(ks, string(a.Kind))
				texts = append(texts, a.Text)
				if a.Kind == Kick && a.UserID != tt.m.UserID {
					t.Errorf("kick targets %s", a.UserID)
				}
			}
			if got := strings.Join(ks, " "); got != tt.wantKinds {
				t.Fatalf("actions = %q, want %q", got, tt.wantKinds)
			}
			all := strings.Join(texts, "\n")
			if wantWarning := strings.Contains(strings.Join(tt.wantText, "\n"), "⚠"); strings.Contains(all, "⚠") != wantWarning {
				t.Errorf("warning = %v, want %v:\n%s", !wantWarning, wantWarning, all)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(all, w) {
					t.Errorf("texts lack %q:\n%s", w, all)
				}
			}
		})
	}
}
