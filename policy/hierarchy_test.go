package policy

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// A clinical room of trust A as issue 18 found it: the bot and the room
// admin at 100, a senior clinician at 75, a moderator at 50, a member at 0;
// kick and invite at 50.
const (
	hBot       = "@caldicott:trust-a.nhs.uk"
	hAdmin     = "@admin:trust-a.nhs.uk"
	hSenior    = "@senior:trust-a.nhs.uk"
	hModerator = "@mod:trust-a.nhs.uk"
	hMember    = "@member:trust-a.nhs.uk"
	hIG        = "@ig:trust-a.nhs.uk"
	hOwnServer = "trust-a.nhs.uk"
)

func hierarchyPL() PowerLevels {
	pl := defaultPL(map[string]int64{hBot: 100, hAdmin: 100, hSenior: 75, hModerator: 50})
	pl.Invite = 50
	return pl
}

func TestMayActFor(t *testing.T) {
	pl := hierarchyPL()
	strict := hierarchyPL()
	strict.Kick, strict.Invite = 75, 75
	low := hierarchyPL()
	low.Kick = 30
	low.Users[hMember] = 40
	low.Users["@junior:trust-a.nhs.uk"] = 20
	igAt := func(level int64) PowerLevels {
		p := hierarchyPL()
		p.Users[hIG] = level
		return p
	}
	tests := []struct {
		name           string
		act            PersonAct
		caller, target string
		pl             PowerLevels
		ig, ownRoom    bool
		wantOK         bool
		wantMsg        []string
	}{
		// Removals: Matrix's kick rule — the kick level, and more power than the target.
		{"moderator removes the room admin above them: refused", ActRemove, hModerator, hAdmin, pl, false, true, false,
			[]string{"I cannot remove @admin:trust-a.nhs.uk for you", "power level 100 in this room, above yours (50)", "only where you could act yourself"}},
		{"moderator removes a senior clinician above them: refused", ActRemove, hModerator, hSenior, pl, false, true, false,
			[]string{"power level 75 in this room, above yours (50)"}},
		{"moderator removes another moderator at their level: refused", ActRemove, hModerator, "@mod2:trust-a.nhs.uk", func() PowerLevels { p := hierarchyPL(); p.Users["@mod2:trust-a.nhs.uk"] = 50; return p }(), false, true, false,
			[]string{"power level 50 in this room, the same as yours (50)"}},
		{"moderator removes a member below them", ActRemove, hModerator, hMember, pl, false, true, true, nil},
		{"senior clinician removes the moderator below them", ActRemove, hSenior, hModerator, pl, false, true, true, nil},
		{"room admin removes the senior clinician", ActRemove, hAdmin, hSenior, pl, false, true, true, nil},
		{"room admin removes another admin at 100: refused", ActRemove, hAdmin, "@admin2:trust-a.nhs.uk", func() PowerLevels { p := hierarchyPL(); p.Users["@admin2:trust-a.nhs.uk"] = 100; return p }(), false, true, false,
			[]string{"the same as yours (100)"}},
		{"member below the kick level removes another member: refused", ActRemove, hMember, "@other:trust-a.nhs.uk", pl, false, true, false,
			[]string{"Removing someone from this room needs power level 50, and you have 0"}},
		{"moderator below a raised kick level: refused", ActRemove, hModerator, hMember, strict, false, true, false,
			[]string{"needs power level 75, and you have 50"}},
		{"a lowered kick level lets a member at 40 remove one at 20", ActRemove, hMember, "@junior:trust-a.nhs.uk", low, false, true, true, nil},
		{"asking to remove yourself: refused, told how to leave", ActRemove, hModerator, hModerator, pl, false, true, false,
			[]string{"To leave this room, use Leave"}},
		{"nobody removes someone at the bot's level, even an IG admin of this trust", ActRemove, hIG, hAdmin, igAt(0), true, true, false,
			[]string{"as much as I have (100)", "Only they can leave"}},

		// IG admins: this trust's, in this trust's rooms, act whatever their level.
		{"IG admin of this trust, in a room of this trust, at power 0", ActRemove, hIG, hSenior, igAt(0), true, true, true, nil},
		{"IG admin of this trust, in another trust's room, at power 0: refused", ActRemove, hIG, hMember, igAt(0), true, false, false,
			[]string{"needs power level 50, and you have 0", "Your IG-admin role covers your own trust's rooms; this room was created by another trust"}},
		{"IG admin in another trust's room at 50 cannot remove its clinician at 75", ActRemove, hIG, hSenior, igAt(50), true, false, false,
			[]string{"above yours (50)", "created by another trust"}},
		{"IG admin in another trust's room, given 100 by it, removes its clinician at 75", ActRemove, hIG, hSenior, igAt(100), true, false, true, nil},
		{"someone who is no IG admin gains nothing from the room being this trust's", ActRemove, hMember, hMember + "x", pl, false, true, false,
			[]string{"needs power level 50"}},

		// Invitations: the room's invite level.
		{"member below the invite level approves a request: refused", ActInvite, hMember, "@new:trust-a.nhs.uk", pl, false, true, false,
			[]string{"Inviting someone to this room needs power level 50, and you have 0"}},
		{"moderator at the invite level invites", ActInvite, hModerator, "@new:trust-a.nhs.uk", pl, false, true, true, nil},
		{"moderator below a raised invite level: refused", ActInvite, hModerator, "@new:trust-a.nhs.uk", strict, false, true, false,
			[]string{"needs power level 75, and you have 50"}},
		{"invitation has no target-level rule", ActInvite, hModerator, hAdmin, pl, false, true, true, nil},
		{"IG admin of this trust invites in a room of this trust", ActInvite, hIG, "@new:trust-a.nhs.uk", igAt(0), true, true, true, nil},
		{"IG admin in another trust's room has its invite level only", ActInvite, hIG, "@new:trust-a.nhs.uk", igAt(0), true, false, false,
			[]string{"Inviting someone", "created by another trust"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewActOnPerson(tt.act, tt.caller, tt.target, hBot, tt.pl, tt.ig, tt.ownRoom)
			ok, msg := MayActFor(a)
			if ok != tt.wantOK {
				t.Fatalf("MayActFor = %v %q; want %v", ok, msg, tt.wantOK)
			}
			if ok && msg != "" {
				t.Errorf("allowed with a refusal %q", msg)
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(msg, w) {
					t.Errorf("refusal %q lacks %q", msg, w)
				}
			}
		})
	}
}

// A refusal names whom to ask: members who could do it themselves.
func TestMayActForNamesDeciders(t *testing.T) {
	pl := hierarchyPL()
	members := []string{hBot, hAdmin, hSenior, hModerator, hMember}
	a := NewActOnPerson(ActRemove, hModerator, hSenior, hBot, pl, false, true)
	a.Deciders = Deciders(ActRemove, a.TargetLevel, members, hBot, pl)
	_, msg := MayActFor(a)
	if !strings.Contains(msg, "Ask someone here with more power to do it: @admin:trust-a.nhs.uk (power 100).") {
		t.Errorf("refusal does not name the room admin: %q", msg)
	}
	a.Deciders = nil
	if _, msg := MayActFor(a); !strings.Contains(msg, "Ask a room admin with more power to do it.") {
		t.Errorf("refusal without deciders: %q", msg)
	}
}

func TestDeciders(t *testing.T) {
	pl := hierarchyPL()
	pl.Users["@a2:trust-a.nhs.uk"] = 100
	pl.Users["@s2:trust-a.nhs.uk"] = 80
	pl.Users["@s3:trust-a.nhs.uk"] = 76
	members := []string{hMember, "@s3:trust-a.nhs.uk", hModerator, hBot, hSenior, "@s2:trust-a.nhs.uk", hAdmin, "@a2:trust-a.nhs.uk"}
	tests := []struct {
		name   string
		act    PersonAct
		target int64
		want   []string
	}{
		{"above a clinician at 75, highest first, bot left out, three at most", ActRemove, 75,
			[]string{"@a2:trust-a.nhs.uk (power 100)", "@admin:trust-a.nhs.uk (power 100)", "@s2:trust-a.nhs.uk (power 80)"}},
		{"above the admins: nobody", ActRemove, 100, nil},
		{"the equal is not a decider", ActRemove, 80, []string{"@a2:trust-a.nhs.uk (power 100)", "@admin:trust-a.nhs.uk (power 100)"}},
		{"invitations: anyone at the invite level", ActInvite, 0,
			[]string{"@a2:trust-a.nhs.uk (power 100)", "@admin:trust-a.nhs.uk (power 100)", "@s2:trust-a.nhs.uk (power 80)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Deciders(tt.act, tt.target, members, hBot, pl)
			if !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("Deciders = %q; want %q", got, tt.want)
			}
		})
	}
	low := defaultPL(map[string]int64{hModerator: 40})
	low.Kick = 50
	if got := Deciders(ActRemove, 0, []string{hModerator, hMember}, hBot, low); len(got) != 0 {
		t.Errorf("someone below the kick level named as a decider: %q", got)
	}
}

func TestOwnTrustRoom(t *testing.T) {
	tests := []struct {
		creator, own string
		want         bool
	}{
		{"@alice:trust-a.nhs.uk", "trust-a.nhs.uk", true},
		{"@caldicott:trust-a.nhs.uk", "trust-a.nhs.uk", true},
		{"@bob:trust-b.nhs.uk", "trust-a.nhs.uk", false},
		{"@u:127.0.0.11:8448", "127.0.0.11:8448", true},
		{"@u:127.0.0.12:8448", "127.0.0.11:8448", false},
		{"@u:evil-trust-a.nhs.uk", "trust-a.nhs.uk", false},
		{"@u:trust-a.nhs.uk.evil.example", "trust-a.nhs.uk", false},
		{"", "trust-a.nhs.uk", false},
	}
	for _, tt := range tests {
		if got := OwnTrustRoom(tt.creator, tt.own); got != tt.want {
			t.Errorf("OwnTrustRoom(%q, %q) = %v; want %v", tt.creator, tt.own, got, tt.want)
		}
		if got := IGAdminHere(true, tt.creator, tt.own); got != tt.want {
			t.Errorf("IGAdminHere(true, %q, %q) = %v; want %v", tt.creator, tt.own, got, tt.want)
		}
		if IGAdminHere(false, tt.creator, tt.own) {
			t.Errorf("IGAdminHere(false, %q) = true", tt.creator)
		}
	}
}

func TestFilterReach(t *testing.T) {
	own := RoomFacts{Creator: hAdmin, PowerLevels: hierarchyPL()}
	foreign := RoomFacts{Creator: "@bob:trust-b.nhs.uk", PowerLevels: hierarchyPL()}
	foreign.PowerLevels.Users[hIG] = 60
	strictPolicy := own
	strictPolicy.PowerLevels = hierarchyPL()
	strictPolicy.PowerLevels.Events = map[string]int64{PolicyEventType: 100}
	tests := []struct {
		name   string
		f      RoomFacts
		setter string
		ig     bool
		want   int64
	}{
		{"set by the moderator: reaches below 50", own, hModerator, false, 50},
		{"set by the room admin: reaches below 100", own, hAdmin, false, 100},
		{"set by an IG admin of this trust in its room: reaches everyone", own, hIG, true, math.MaxInt64},
		{"set by an IG admin of this trust in another trust's room: their level there", foreign, hIG, true, 60},
		{"setter unknown: room admins (policy power) out of reach", own, "", false, 50},
		{"setter unknown, policy at 100", strictPolicy, "", false, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.FilterReach(tt.setter, tt.ig, hOwnServer); got != tt.want {
				t.Errorf("FilterReach = %d; want %d", got, tt.want)
			}
		})
	}
}

// The gate: a member the filters cannot reach stays, for failing the
// filters only; every other rule still applies to them.
func TestJoinGateOutranksFilters(t *testing.T) {
	base := func(e *StaffEntry, outranks bool) JoinFacts {
		return JoinFacts{UserID: "@alice:trust-a.nhs.uk", Class: Clinical, AllowedRoles: []string{"Consultant"}, AllowedTeams: []string{"Cardiology"}, Entry: e, OutranksFilters: outranks}
	}
	tests := []struct {
		name      string
		j         JoinFacts
		wantAllow bool
		wantRule  string
	}{
		{"wrong role, below the filter's reach: removed", base(entry(StatusActive, "Registrar", "Cardiology"), false), false, GateRoleNotAllowed},
		{"wrong team, below the filter's reach: removed", base(entry(StatusActive, "Consultant", "Renal"), false), false, GateTeamNotAllowed},
		{"wrong role, out of the filter's reach: stays", base(entry(StatusActive, "Registrar", "Cardiology"), true), true, GateOutranksFilters},
		{"wrong team, out of the filter's reach: stays", base(entry(StatusActive, "Consultant", "Renal"), true), true, GateOutranksFilters},
		{"fits the filters and out of reach: simply eligible", base(entry(StatusActive, "consultant", "cardiology"), true), true, GateEligible},
		{"out of reach but suspended: removed", base(entry(StatusSuspended, "Registrar", "Renal"), true), false, GateSuspended},
		{"out of reach but left: removed", base(entry(StatusLeft, "Registrar", "Renal"), true), false, GateLeft},
		{"out of reach but not in the directory: removed", base(nil, true), false, GateNotInDirectory},
		{"out of reach but held: removed", func() JoinFacts {
			j := base(entry(StatusActive, "Registrar", ""), true)
			j.HeldReason = "lost device"
			return j
		}(), false, GateHeld},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := JoinGate(tt.j, gateRules)
			if d.Allow != tt.wantAllow || d.Rule != tt.wantRule {
				t.Errorf("JoinGate = %v %s; want %v %s", d.Allow, d.Rule, tt.wantAllow, tt.wantRule)
			}
		})
	}
	// And a sweep's decision about them removes nobody.
	d := JudgeMember(MemberCheck{JoinFacts: base(entry(StatusActive, "Registrar", "Renal"), true), Mode: OnSweep}, gateRules)
	if d.Removes("@alice:trust-a.nhs.uk") {
		t.Errorf("sweep removes a member out of the filters' reach: %+v", d)
	}
}

func TestFilterLeftReply(t *testing.T) {
	pl := hierarchyPL()
	if got := FilterLeftReply(nil, 50, nil, pl); got != "" {
		t.Errorf("nobody left, yet a reply: %q", got)
	}
	got := FilterLeftReply([]string{hSenior}, 50, []string{"@admin:trust-a.nhs.uk (power 100)"}, pl)
	for _, w := range []string{"I have not removed @senior:trust-a.nhs.uk (power 75)", "at or above yours (50)", "ask @admin:trust-a.nhs.uk (power 100) to remove them with `!policy remove`, or to set the filter again themselves"} {
		if !strings.Contains(got, w) {
			t.Errorf("reply %q lacks %q", got, w)
		}
	}
	if got := FilterLeftReply([]string{hSenior}, 50, nil, pl); !strings.Contains(got, "A room admin with more power decides about them") {
		t.Errorf("reply without deciders: %q", got)
	}
}
