package policy

import (
	"fmt"
	"strings"
	"testing"
)

func TestIdentityFlags(t *testing.T) {
	const (
		alice = "@alice:trust-a.nhs.uk"
		bob   = "@bob:trust-a.nhs.uk"
		bot   = "@caldicott:trust-a.nhs.uk"
	)
	own := entry(StatusActive, "Registrar", "") // Alice Smith
	bobStaff := map[string]string{bob: "Bob Jones"}
	bobHere := map[string]string{bob: "Bob Jones", alice: "whatever"}
	tests := []struct {
		name    string
		display string
		entry   *StaffEntry
		others  map[string]string
		staff   map[string]string
		want    []string // one substring per flag, in order
	}{
		// Not someone else: no flag.
		{"default localpart", "alice", own, bobHere, bobStaff, nil},
		{"no display name", "", own, bobHere, bobStaff, nil},
		{"own directory name", "Alice Smith", own, bobHere, nil, nil},
		{"own name with title and odd case", "dr ALICE smith", own, nil, nil, nil},
		{"own name spelled differently", "Alice Smyth", own, bobHere, bobStaff, nil},
		{"a nickname", "Ali S", own, bobHere, bobStaff, nil},
		{"any other name", "Dr Who", own, bobHere, bobStaff, nil},
		{"a name like nobody's", "Adam Inman", own, bobHere, bobStaff, nil},
		{"own name shared with a directory namesake", "Alice Smith", own, nil, map[string]string{"@alice2:trust-a.nhs.uk": "Alice Smith", alice: "Alice Smith"}, nil},
		{"only itself in the room and directory", "Alice Smith", own, map[string]string{alice: "Alice Smith"}, map[string]string{alice: "Alice Smith"}, nil},

		// Another member's display name.
		{"another member's name", "Bob Jones", own, bobHere, nil, []string{`uses the same name, "Bob Jones", as @bob:trust-a.nhs.uk`}},
		{"another member's name, other case and spacing", "bob  JONES", own, bobHere, nil, []string{`uses the same name, "bob  JONES", as @bob`}},
		{"another member's name in look-alike letters", "B0b J\u043enes", own, bobHere, nil, []string{`shows the name "B0b Jоnes", which looks like "Bob Jones", the name @bob:trust-a.nhs.uk shows here`}},
		{"another member's default localpart", "Bob", own, map[string]string{bob: ""}, nil, []string{`uses the same name, "Bob", as @bob`}},
		{"own name, but an imposter in the room shows it too", "Alice Smith", own, map[string]string{"@imposter:trust-a.nhs.uk": "Alice Smith", alice: "Alice Smith"}, nil, []string{"uses the same name, \"Alice Smith\", as @imposter"}},

		// Another staff member's directory name.
		{"another staff member's name", "Bob Jones", own, nil, bobStaff, []string{`shows the name "Bob Jones", which the staff directory gives to @bob:trust-a.nhs.uk`}},
		{"another staff member's name with a title", "Dr Bob Jones", own, nil, bobStaff, []string{`which looks like "Bob Jones", the staff directory's name for @bob:trust-a.nhs.uk`}},
		{"another staff member's name in Cyrillic", "\u0412\u043eb J\u043enes", own, nil, bobStaff, []string{`the staff directory's name for @bob`}},
		{"another staff member's name, capital I for l", "AIan Brook", own, nil, map[string]string{"@alan:trust-a.nhs.uk": "Alan Brook"}, []string{"the staff directory's name for @alan"}},
		{"staff member also in the room: one flag", "Bob Jones", own, bobHere, bobStaff, []string{"uses the same name"}},
		{"federated joiner showing our staff member's name", "Bob Jones", nil, nil, bobStaff, []string{"which the staff directory gives to @bob"}},
		{"staff names that do not look alike are ignored", "Bob Jones", own, nil, map[string]string{"@rob:trust-a.nhs.uk": "Rob Jones"}, nil},

		// The bot, roles, teams and system accounts.
		{"the bot's name", "Caldicott", own, nil, nil, []string{"as if they were Caldicott, this room's policy bot. The bot is @caldicott:trust-a.nhs.uk"}},
		{"the bot's name in look-alikes", "C\u0430ld1cott Bot", own, nil, nil, []string{"as if they were Caldicott"}},
		{"the bot's display name here", "Policy Bot", own, map[string]string{bot: "Policy Bot"}, nil, []string{"as if they were Caldicott"}},
		{"IG admin", "IG Admin", own, nil, nil, []string{`"IG Admin", which names a role, team or system account rather than a person`}},
		{"SysAdmin", "SysAdmin", own, nil, nil, []string{"names a role, team or system account"}},
		{"NHS", "NHS Support", own, nil, nil, []string{"names a role, team or system account"}},
		{"system", "System", own, nil, nil, []string{"names a role, team or system account"}},
		{"information governance", "Information Governance", own, nil, nil, []string{"names a role, team or system account"}},
		{"Caldicott Guardian is a role, not the bot", "Caldicott Guardian", own, nil, nil, []string{"names a role, team or system account"}},
		{"a role name that is the directory's name for them", "IG Team", &StaffEntry{UserID: alice, Name: "IG Team", Status: StatusActive}, nil, nil, nil},
		{"a role and someone else's name", "Admin Bob Jones", own, nil, map[string]string{bob: "Admin Bob Jones"}, []string{"names a role", "which the staff directory gives to @bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := MemberCheck{JoinFacts: JoinFacts{UserID: alice, Membership: MembershipJoin, Class: Clinical, Entry: tt.entry}, DisplayName: tt.display, Others: tt.others, StaffNames: tt.staff}
			flags := IdentityFlags(m, gateRules)
			if len(flags) != len(tt.want) {
				t.Fatalf("flags = %q, want %d", flags, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(flags[i], w) {
					t.Errorf("flag %q lacks %q", flags[i], w)
				}
			}
		})
	}
}

func TestIdentityFlagsNameAFewLookAlikes(t *testing.T) {
	others := map[string]string{}
	for i := range 5 {
		others[fmt.Sprintf("@alex%d:trust-a.nhs.uk", i)] = "Alex"
	}
	flags := IdentityFlags(MemberCheck{JoinFacts: JoinFacts{UserID: "@alex:trust-a.nhs.uk"}, DisplayName: "Alex", Others: others}, gateRules)
	if len(flags) != maxLookAlikes+1 || !strings.Contains(flags[0], "@alex0:") || flags[maxLookAlikes] != `⚠ …and 2 more people's names look like "Alex".` {
		t.Errorf("flags = %q", flags)
	}
}

func TestIdentityNamesTheDirectoryEntry(t *testing.T) {
	if got := entry(StatusActive, "Registrar", "").Identity("Trust A"); got != "Alice Smith · Registrar · GMC 1234567 · Trust A" {
		t.Errorf("Identity = %q", got)
	}
}

// BenchmarkIdentityFlags: a joiner in a 100-member room, checked against
// the members and a handful of directory look-alikes.
func BenchmarkIdentityFlags(b *testing.B) {
	others := map[string]string{}
	for i := range 100 {
		others[fmt.Sprintf("@user%d:trust-a.nhs.uk", i)] = fmt.Sprintf("Person %d Surname", i)
	}
	m := MemberCheck{JoinFacts: JoinFacts{UserID: "@alice:trust-a.nhs.uk", Entry: entry(StatusActive, "Registrar", "")}, DisplayName: "alice", Others: others, StaffNames: map[string]string{"@a2:trust-a.nhs.uk": "Alice"}}
	b.ReportAllocs()
	for b.Loop() {
		_ = IdentityFlags(m, gateRules)
	}
}
