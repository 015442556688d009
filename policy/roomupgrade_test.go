package policy

import (
	"strings"
	"testing"
)

// TestMayUpgrade: the bot upgrades a room only for someone with the power
// to send m.room.tombstone there (Matrix's own rule), whatever their
// other roles; a refusal names who could, highest first, bots aside.
func TestMayUpgrade(t *testing.T) {
	const admin, senior, mod, member, ig = "@admin:a", "@senior:a", "@mod:a", "@member:a", "@ig:a"
	upgrade := CommandSpec{Name: "upgrade", Usage: "!policy upgrade [room version]", Place: InRoom, Needs: RoomUpgradePower}
	pl := func(tombstone int64) PowerLevels {
		p := defaultPL(map[string]int64{admin: 100, senior: 75, mod: 50, "@caldicott:a": 100})
		if tombstone > 0 {
			p.Events[TombstoneEventType] = tombstone
		}
		return p
	}
	people := []string{member, mod, senior, admin}
	tests := []struct {
		name    string
		actor   Actor
		pl      PowerLevels
		ok      bool
		want    []string
		notWant string
	}{
		{"room admin at the tombstone level", Actor{UserID: admin, Level: 100, People: people}, pl(100), true, nil, ""},
		{"moderator at the default state level when the room sets none for tombstones", Actor{UserID: mod, Level: 50, People: people}, pl(0), true, nil, ""},
		{"moderator below an explicit tombstone level", Actor{UserID: mod, Level: 50, People: people}, pl(100), false,
			[]string{"needs power level 100", "you have 50", "Ask @admin:a (power 100) to type `!policy upgrade`"}, "@senior:a"},
		{"member: those able named highest first", Actor{UserID: member, Level: 0, People: people}, pl(75), false,
			[]string{"needs power level 75", "Ask @admin:a (power 100) or @senior:a (power 75)"}, "@mod:a"},
		{"IG admin of this trust's room has no more than the room gives", Actor{UserID: ig, Level: 0, IsIGAdmin: true, OwnTrustRoom: true, People: people}, pl(100), false,
			[]string{"IG-admin role does not change that", "@admin:a"}, ""},
		{"IG admin given the power may", Actor{UserID: ig, Level: 100, IsIGAdmin: true, People: people}, pl(100), true, nil, ""},
		{"nobody but the bot able", Actor{UserID: member, Level: 0, People: []string{member}}, pl(100), false,
			[]string{"Nobody in this room has that power but me; ask your IG team"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, msg := Authorize(upgrade, tt.actor, tt.pl)
			if ok != tt.ok {
				t.Fatalf("Authorize = %v %q; want %v", ok, msg, tt.ok)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("refusal %q lacks %q", msg, w)
				}
			}
			if tt.notWant != "" && strings.Contains(msg, tt.notWant) {
				t.Errorf("refusal %q names %q, who cannot do it", msg, tt.notWant)
			}
			if strings.Contains(msg, "@caldicott:a") {
				t.Errorf("refusal %q tells them to ask the bot", msg)
			}
		})
	}
}

func TestUpgradeVersion(t *testing.T) {
	stable := []string{"1", "2", "10", "11", "12", "org.matrix.msc0000"}
	tests := []struct {
		name      string
		v         RoomVersions
		want      string
		refusalIs string
	}{
		{"homeserver default newer: the default", RoomVersions{Current: "9", Default: "10", Stable: stable}, "10", ""},
		{"default not newer: the room's own", RoomVersions{Current: "11", Default: "10", Stable: stable}, "11", ""},
		{"same version: the room's own", RoomVersions{Current: "10", Default: "10", Stable: stable}, "10", ""},
		{"asked for a stable version", RoomVersions{Current: "10", Default: "10", Stable: stable, Asked: "11"}, "11", ""},
		{"asked for an older one: allowed (Matrix allows it)", RoomVersions{Current: "10", Default: "10", Stable: stable, Asked: "2"}, "2", ""},
		{"asked for an unknown version", RoomVersions{Current: "10", Default: "10", Stable: stable, Asked: "99"}, "", `"99" is not one this homeserver offers as stable. Use one of: 1, 2, 10, 11.`},
		{"asked for 12: creators above power levels", RoomVersions{Current: "10", Default: "10", Stable: stable, Asked: "12"}, "", "newer than I can guard (up to 11"},
		{"asked for an experimental version", RoomVersions{Current: "10", Default: "10", Stable: stable, Asked: "org.matrix.msc0000"}, "", "not one this homeserver offers as stable"},
		{"homeserver default 12: not taken", RoomVersions{Current: "10", Default: "12", Stable: stable}, "10", ""},
		{"room on a version no longer offered, default older", RoomVersions{Current: "3", Default: "2", Stable: []string{"1", "2"}}, "", "This room's version (3) is not one this homeserver offers as stable"},
		{"room on an unnumbered version, default numbered", RoomVersions{Current: "org.matrix.msc0000", Default: "10", Stable: stable}, "10", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, refusal := UpgradeVersion(tt.v)
			if got != tt.want || (tt.refusalIs == "") != (refusal == "") || !strings.Contains(refusal, tt.refusalIs) {
				t.Errorf("UpgradeVersion = %q, %q; want %q, %q", got, refusal, tt.want, tt.refusalIs)
			}
		})
	}
}

func TestUpgradeGate(t *testing.T) {
	tests := []struct {
		name  string
		byBot bool
		class Class
		allow bool
	}{
		{"a person upgrading a clinical room", false, Clinical, false},
		{"the bot upgrading a clinical room", true, Clinical, true},
		{"a person upgrading an operational room (the bot follows it)", false, Operational, true},
		{"a person upgrading an unclassified room", false, Unclassified, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := UpgradeGate(tt.byBot, tt.class)
			if d.Allow != tt.allow || d.Rule != GateUpgradeLeavesBot {
				t.Fatalf("UpgradeGate = %+v", d)
			}
			if !d.Allow && !strings.Contains(d.Reason, "must keep Caldicott in it. Type `!policy upgrade` in the room") {
				t.Errorf("refusal words: %q", d.Reason)
			}
		})
	}
}

// The upgrade is one visible action, carrying its version; the old room's
// members are invited in order, each told which room this replaces.
func TestUpgradeDecisions(t *testing.T) {
	d := UpgradeRoom("11", "@admin:a")
	if len(d.Actions) != 1 || d.Actions[0].Kind != Upgrade || d.Actions[0].Version != "11" || !d.Actions[0].Kind.Visible() {
		t.Fatalf("UpgradeRoom = %+v", d)
	}
	s := Succession{OldRoom: "!old:a", NewRoom: "!new:a", UpgradedBy: "@admin:a"}
	inv := InviteToReplacement(s, []string{"@b:a", "@a:a"})
	if len(inv.Actions) != 2 || inv.Actions[0].UserID != "@a:a" || inv.Actions[0].Kind != Invite || !strings.Contains(inv.Actions[0].Text, "replaces !old:a") {
		t.Fatalf("InviteToReplacement = %+v", inv)
	}
	if r := UpgradedReply(s, "11", 2, []string{"@x:a: banned"}); !strings.Contains(r, "replaced by !new:a (room version 11)") || !strings.Contains(r, "invited the 2 member(s) of this room") || !strings.Contains(r, "@x:a: banned") {
		t.Errorf("UpgradedReply = %q", r)
	}
}
