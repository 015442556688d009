package policy

import "testing"

func TestIsRoomAdmin(t *testing.T) {
	pl := defaultPL(map[string]int64{"@mod:a": 50, "@admin:a": 100})
	strict := defaultPL(map[string]int64{"@mod:a": 50})
	strict.Events[PolicyEventType] = 100
	tests := []struct {
		user string
		pl   PowerLevels
		ig   bool
		want bool
	}{
		{"@admin:a", pl, false, true}, {"@mod:a", pl, false, true}, {"@user:a", pl, false, false},
		{"@mod:a", strict, false, false}, {"@user:a", strict, true, true},
	}
	for _, tt := range tests {
		if got := IsRoomAdmin(tt.user, tt.pl, tt.ig); got != tt.want {
			t.Errorf("IsRoomAdmin(%s, ig=%v) = %v", tt.user, tt.ig, got)
		}
	}
}

func TestDecideRequest(t *testing.T) {
	eligible := JoinFacts{UserID: "@alice:trust-a.nhs.uk", Membership: MembershipInvite, Class: Clinical, Entry: entry(StatusActive, "Consultant", "")}
	federated := JoinFacts{UserID: "@bob:trust-b.nhs.uk", Membership: MembershipInvite, Class: Clinical}
	left := eligible
	left.Entry = entry(StatusLeft, "", "")
	tests := []struct {
		name string
		j    JoinFacts
		auto string
		want RequestOutcome
	}{
		{"eligible, admins decide", eligible, "", RequestToAdmins},
		{"eligible, auto-approved by directory", eligible, AutoApproveDirectory, RequestAutoApproved},
		{"federated user is never auto-approved (no directory of theirs yet)", federated, AutoApproveDirectory, RequestToAdmins},
		{"leaver refused at once", left, AutoApproveDirectory, RequestRefused},
		{"outsider refused at once", JoinFacts{UserID: "@x:matrix.org", Class: Clinical}, "", RequestRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, gd := DecideRequest(tt.j, tt.auto, gateRules)
			if got != tt.want {
				t.Fatalf("DecideRequest = %v (%+v), want %v", got, gd, tt.want)
			}
			if got == RequestRefused && gd.Reason == "" {
				t.Fatal("refusal without reason")
			}
		})
	}
}
