package policy

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var gateRules = GateRules{
	Requirements: Requirements{
		BotUserID:         "@caldicott:trust-a.nhs.uk",
		OwnServer:         "trust-a.nhs.uk",
		FederationServers: []string{"trust-b.nhs.uk", "127.0.0.12:8448"},
	},
	TrustName:        "Trust A",
	BridgeNamespaces: []*regexp.Regexp{regexp.MustCompile(`^@whatsapp_.+:trust-a\.nhs\.uk$`)},
}

func entry(status StaffStatus, role, team string) *StaffEntry {
	return &StaffEntry{UserID: "@alice:trust-a.nhs.uk", Name: "Alice Smith", Role: role, Team: team, Registration: "GMC 1234567", Status: status}
}

func TestJoinGate(t *testing.T) {
	tests := []struct {
		name       string
		j          JoinFacts
		wantAllow  bool
		wantRule   string
		wantReason string
	}{
		{"social room: anyone", JoinFacts{UserID: "@x:matrix.org", Class: Social}, true, GateNotClinical, ""},
		{"unclassified: anyone", JoinFacts{UserID: "@x:matrix.org"}, true, GateNotClinical, ""},
		{"the bot itself", JoinFacts{UserID: "@caldicott:trust-a.nhs.uk", Class: Clinical}, true, GateBot, ""},
		{"eligible staff", JoinFacts{UserID: "@alice:trust-a.nhs.uk", Class: Clinical, Entry: entry(StatusActive, "Consultant", "Cardiology")}, true, GateEligible, ""},
		{"not in directory", JoinFacts{UserID: "@alice:trust-a.nhs.uk", Class: Clinical}, false, GateNotInDirectory, "is not in the staff directory of Trust A"},
		{"invitee not in directory", JoinFacts{UserID: "@alice:trust-a.nhs.uk", Membership: MembershipInvite, Class: Clinical}, false, GateNotInDirectory, "Ask your IG or IT team to add you"},
		{"empty directory fails safe", JoinFacts{UserID: "@alice:trust-a.nhs.uk", Class: Clinical, DirectoryEmpty: true}, true, GateDirectoryMissing, ""},
		{"suspended", JoinFacts{UserID: "@alice:trust-a.nhs.uk", Class: Clinical, Entry: entry(StatusSuspended, "Consultant", "")}, false, GateSuspended, "lists your account as suspended"},
		{"left", JoinFacts{UserID: "@alice:trust-a.nhs.uk", Class: Clinical, Entry: entry(StatusLeft, "Consultant", "")}, false, GateLeft, "you have left the trust"},
		{"held after a lost device", JoinFacts{UserID: "@alice:trust-a.nhs.uk", Class: Clinical, HeldReason: "devices signed out after a lost device", Entry: entry(StatusActive, "Consultant", "")}, false, GateHeld, "held out of the clinical rooms of Trust A: devices signed out"},
		{"personal server", JoinFacts{UserID: "@alice:matrix.org", Class: Clinical}, false, GateOutsideServer, "Accounts on matrix.org are personal accounts"},
		{"server with same host, other port", JoinFacts{UserID: "@x:trust-a.nhs.uk:8448", Class: Clinical}, false, GateOutsideServer, "trust-a.nhs.uk:8448"},
		{"federated trust by host", JoinFacts{UserID: "@bob:trust-b.nhs.uk", Class: Clinical}, true, GateFederatedTrust, ""},
		{"federated trust with port", JoinFacts{UserID: "@bob:127.0.0.12:8448", Class: Clinical}, true, GateFederatedTrust, ""},
		{"federated trust, published as a leaver by its trust", JoinFacts{UserID: "@bob:trust-b.nhs.uk", Class: Clinical, ListBan: "left Trust B"}, false, GateListBanned, "left Trust B"},
		{"a list ban does not touch our own staff (our directory decides)", JoinFacts{UserID: "@alice:trust-a.nhs.uk", Class: Clinical, ListBan: "forged", Entry: &StaffEntry{UserID: "@alice:trust-a.nhs.uk", Status: StatusActive}}, true, GateEligible, ""},
		{"federated host listed with port, other port", JoinFacts{UserID: "@bob:127.0.0.12:9999", Class: Clinical}, false, GateOutsideServer, ""},
		{"bridge puppet", JoinFacts{UserID: "@whatsapp_447700900123:trust-a.nhs.uk", Class: Clinical, Entry: entry(StatusActive, "", "")}, false, GateBridgePuppet, "is a bridged account"},
		{"role allowed (case-insensitive)", JoinFacts{UserID: "@alice:trust-a.nhs.uk", Class: Clinical, AllowedRoles: []string{"consultant", "Registrar"}, Entry: entry(StatusActive, "Consultant", "")}, true, GateEligible, ""},
		{"role not allowed", JoinFacts{UserID: "@alice:trust-a.nhs.uk", Class: Clinical, AllowedRoles: []string{"Staff Nurse"}, Entry: entry(StatusActive, "Porter", "")}, false, GateRoleNotAllowed, "This room is for Staff Nurse; the staff directory lists you as Porter"},
		{"team not allowed", JoinFacts{UserID: "@alice:trust-a.nhs.uk", Class: Clinical, AllowedTeams: []string{"Cardiology"}, Entry: entry(StatusActive, "Consultant", "Renal")}, false, GateTeamNotAllowed, "lists you in Renal"},
		{"team allowed", JoinFacts{UserID: "@alice:trust-a.nhs.uk", Class: Clinical, AllowedTeams: []string{"Cardiology"}, Entry: entry(StatusActive, "Consultant", "Cardiology")}, true, GateEligible, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := JoinGate(tt.j, gateRules)
			if d.Allow != tt.wantAllow || d.Rule != tt.wantRule || !strings.Contains(d.Reason, tt.wantReason) {
				t.Fatalf("JoinGate = %+v; want allow=%v rule=%s reason~%q", d, tt.wantAllow, tt.wantRule, tt.wantReason)
			}
			if !d.Allow && d.Reason == "" {
				t.Fatal("a refusal must carry a reason")
			}
		})
	}
	if d := JoinGate(JoinFacts{UserID: "@a:trust-a.nhs.uk", Class: Clinical, DirectoryEmpty: true}, gateRules); d.Warning == "" {
		t.Error("an empty directory must raise a warning")
	}
}

func TestValidateRegistration(t *testing.T) {
	for _, ok := range []string{"", "GMC 1234567", "NMC 12A3456B", "HCPC PA12345", "HCPC OT123456"} {
		if err := ValidateRegistration(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"GMC 123", "gmc 1234567", "NMC 123456", "1234567", "HCPC 12345"} {
		if ValidateRegistration(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// BenchmarkJoinGate: the decision itself, given the directory entry. The
// directory lookup is benchmarked in store. Target (with lookup): < 50 µs.
func BenchmarkJoinGate(b *testing.B) {
	j := JoinFacts{UserID: "@alice:trust-a.nhs.uk", Class: Clinical, AllowedRoles: []string{"Consultant", "Registrar", "Staff Nurse"}, Entry: entry(StatusActive, "Staff Nurse", "Cardiology")}
	b.ReportAllocs()
	for b.Loop() {
		if d := JoinGate(j, gateRules); !d.Allow {
			b.Fatal(fmt.Sprint(d))
		}
	}
}
