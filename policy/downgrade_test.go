package policy

import (
	"strings"
	"testing"
)

func TestDecideClassChange(t *testing.T) {
	tests := []struct {
		name      string
		from, to  Class
		byIGAdmin bool
		want      ClassChangeOutcome
	}{
		{"room admin classifies a new room clinical", Unclassified, Clinical, false, ChangeApply},
		{"room admin classifies a new room social", Unclassified, Social, false, ChangeApply},
		{"room admin upgrades social to clinical", Social, Clinical, false, ChangeApply},
		{"room admin upgrades operational to clinical", Operational, Clinical, false, ChangeApply},
		{"room admin moves social to operational", Social, Operational, false, ChangeApply},
		{"room admin downgrades clinical to social", Clinical, Social, false, ChangeNeedsIG},
		{"room admin downgrades clinical to operational", Clinical, Operational, false, ChangeNeedsIG},
		{"room admin removes the class of a clinical room", Clinical, Unclassified, false, ChangeNeedsIG},
		{"IG admin downgrades clinical to social", Clinical, Social, true, ChangeApply},
		{"same class", Clinical, Clinical, false, ChangeNothing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecideClassChange(tt.from, tt.to, tt.byIGAdmin); got != tt.want {
				t.Errorf("DecideClassChange(%s, %s, %v) = %v, want %v", tt.from, tt.to, tt.byIGAdmin, got, tt.want)
			}
		})
	}
}

// The IG team sees the room by ID and alias, never by its name.
func TestDowngradeNoticesNameRoomsByIDAndAlias(t *testing.T) {
	r := DowngradeRequest{RoomID: "!abc:a", Alias: "#ward7:a", To: Social, By: "@admin:a", Reason: "rota chat now"}
	for _, d := range []Decision{RequestDowngrade(r), ApplyDowngrade(r, PolicyContent{Class: Clinical}, "@ig:a"), RefuseDowngrade(r, "@ig:a", "")} {
		for _, a := range d.Actions {
			if a.Kind == NotifyManagement && (!strings.Contains(a.Text, "!abc:a") || !strings.Contains(a.Text, "#ward7:a")) {
				t.Errorf("management notice without ID and alias: %q", a.Text)
			}
		}
	}
	d := ApplyDowngrade(r, PolicyContent{Class: Clinical, AllowedRoles: []string{"Nurse"}}, "@ig:a")
	if d.Actions[0].Kind != SetState || d.Actions[0].Content["class"] != "social" || d.Actions[0].Content["classified_by"] != "@ig:a" {
		t.Errorf("apply sets %+v", d.Actions[0])
	}
	rev := RevertDowngrade("!abc:a", "", PolicyContent{Class: Social}, "@admin:a", Social)
	if rev.Actions[0].Content["class"] != "clinical" {
		t.Errorf("revert sets %+v", rev.Actions[0].Content)
	}
}
