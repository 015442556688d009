package policy

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	const bot, name = "@caldicott:trust-a.nhs.uk", "Caldicott"
	tests := []struct {
		body     string
		wantOK   bool
		wantName string
		wantArgs []string
	}{
		{"!policy classify clinical", true, "classify", []string{"clinical"}},
		{"  !policy   STATUS  ", true, "status", []string{}},
		{"!policy", true, "help", nil},
		{"!Policy help", true, "help", []string{}},
		{"!policyclassify clinical", false, "", nil},
		{"@caldicott:trust-a.nhs.uk: status", true, "status", []string{}},
		{"caldicott: classify social", true, "classify", []string{"social"}},
		{"Caldicott, help", true, "help", []string{}},
		{"Caldicott: !policy status", true, "status", []string{}},
		{"!policy new-room clinical Ward 7 handover", true, "new-room", []string{"clinical", "Ward", "7", "handover"}},
		{"!policy status\nsecond line ignored", true, "status", []string{}},
		{"hello everyone", false, "", nil},
		{"caldicottish remark", false, "", nil},
		{"", false, "", nil},
		{"> <@x:y> !policy status\n\nthanks", false, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			cmd, ok := ParseCommand(tt.body, bot, name)
			if ok != tt.wantOK || cmd.Name != tt.wantName {
				t.Fatalf("ParseCommand = %+v, %v; want %q, %v", cmd, ok, tt.wantName, tt.wantOK)
			}
			if ok && len(tt.wantArgs)+len(cmd.Args) > 0 && !reflect.DeepEqual(cmd.Args, tt.wantArgs) {
				t.Fatalf("args = %q, want %q", cmd.Args, tt.wantArgs)
			}
		})
	}
}

func TestParseClass(t *testing.T) {
	for in, want := range map[string]Class{"clinical": Clinical, "Social": Social, " operational ": Operational} {
		if got, ok := ParseClass(in); !ok || got != want {
			t.Errorf("ParseClass(%q) = %q, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "clinicl", "public"} {
		if _, ok := ParseClass(bad); ok {
			t.Errorf("ParseClass(%q) accepted", bad)
		}
	}
}

func TestAuthorize(t *testing.T) {
	classify := CommandSpec{Name: "classify", Usage: "!policy classify clinical", MinArgs: 1, MaxArgs: 1, Place: InRoom, Needs: RoomPolicyPower}
	newRoom := CommandSpec{Name: "new-room", Usage: "!policy new-room", Place: InManagementOrDM, Needs: OwnTrustUser}
	status := CommandSpec{Name: "status", Usage: "!policy status", Place: InRoom, Needs: AnyMember}
	pl := defaultPL(nil)
	plStrict := defaultPL(nil)
	plStrict.Events[PolicyEventType] = 100
	tests := []struct {
		name    string
		spec    CommandSpec
		actor   Actor
		pl      PowerLevels
		wantOK  bool
		wantMsg string
	}{
		{"member may see status", status, Actor{UserID: "@u:a", Level: 0}, pl, true, ""},
		{"moderator may classify at default state level", classify, Actor{UserID: "@u:a", Level: 50}, pl, true, ""},
		{"member may not classify", classify, Actor{UserID: "@u:a", Level: 0}, pl, false, "You need power level 50 in this room to change its policy (you have 0)"},
		{"explicit policy level applies", classify, Actor{UserID: "@u:a", Level: 50}, plStrict, false, "You need power level 100"},
		{"IG admin may classify a room of their own trust", classify, Actor{UserID: "@ig:a", Level: 0, IsIGAdmin: true, OwnTrustRoom: true}, plStrict, true, ""},
		{"IG admin has only the room's power in another trust's room", classify, Actor{UserID: "@ig:a", Level: 0, IsIGAdmin: true}, plStrict, false, "created by another trust, so your IG-admin role does not count here: you have power level 0 and changing its policy needs 100"},
		{"IG admin given the power by another trust's room may use it", classify, Actor{UserID: "@ig:a", Level: 100, IsIGAdmin: true}, plStrict, true, ""},
		{"own trust user may create rooms", newRoom, Actor{UserID: "@u:trust-a", OwnServer: "trust-a"}, pl, true, ""},
		{"other trust user may not create rooms", newRoom, Actor{UserID: "@u:trust-b", OwnServer: "trust-a"}, pl, false, "Only users of this trust's server (trust-a)"},
		{"suffix trick refused", newRoom, Actor{UserID: "@u:evil-trust-a", OwnServer: "trust-a"}, pl, false, "Only users"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, msg := Authorize(tt.spec, tt.actor, tt.pl)
			if ok != tt.wantOK || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("Authorize = %v %q; want %v %q", ok, msg, tt.wantOK, tt.wantMsg)
			}
		})
	}
}

func TestUnknownCommandAndArgs(t *testing.T) {
	known := []string{"help", "status", "classify", "new-room"}
	if got := UnknownCommandReply("clasify", known); !strings.Contains(got, "Did you mean `!policy classify`?") {
		t.Errorf("no suggestion: %s", got)
	}
	if got := UnknownCommandReply("xyzzy", known); strings.Contains(got, "Did you mean") || !strings.Contains(got, "!policy help") {
		t.Errorf("bad reply for nonsense: %s", got)
	}
	classify := CommandSpec{Name: "classify", Usage: "!policy classify clinical", MinArgs: 1, MaxArgs: 1}
	if CheckArgs(classify, nil) == "" || CheckArgs(classify, []string{"a", "b"}) == "" {
		t.Error("wrong argument counts accepted")
	}
	if CheckArgs(classify, []string{"clinical"}) != "" {
		t.Error("right argument count refused")
	}
}

// Found by FuzzParseCommand: a name whose lower case is longer than
// itself (or an invalid byte) made the reading cut the message at the
// wrong place, and past the end of a short one: a panic.
func TestParseCommandNameChangesLengthWhenLowered(t *testing.T) {
	for _, tt := range []struct{ body, display, want string }{
		{"Ⱥ", "Ⱥ", "help"},
		{"ⱥ: status", "Ⱥ", "status"},
		{"Ⱥ roles", "ⱥ", "roles"},
		{"\xf9", "\xe9", ""},
	} {
		cmd, ok := ParseCommand(tt.body, "@caldicott:trust-a", tt.display)
		if cmd.Name != tt.want || ok != (tt.want != "") {
			t.Errorf("ParseCommand(%q) with name %q = %+v, %v; want %q", tt.body, tt.display, cmd, ok, tt.want)
		}
	}
}
