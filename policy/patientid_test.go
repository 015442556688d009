package policy

import (
	"strings"
	"testing"
)

func TestPatientIDInMessage(t *testing.T) {
	for _, tc := range []struct {
		class   Class
		actions int
	}{{Social, 2}, {Operational, 2}, {Clinical, 0}, {Unclassified, 0}} {
		d := PatientIDInMessage(tc.class, "@a:x", "$e", "#coffee:x")
		if len(d.Actions) != tc.actions {
			t.Fatalf("%s: %d actions, want %d", tc.class, len(d.Actions), tc.actions)
		}
		if tc.actions == 0 {
			continue
		}
		if d.Actions[0].Kind != Redact || d.Actions[0].EventID != "$e" || d.Actions[1].Kind != NotifyUser || d.Actions[1].UserID != "@a:x" {
			t.Fatalf("%s: %+v", tc.class, d.Actions)
		}
		if !strings.Contains(d.Actions[1].Text, "clinical room") {
			t.Fatalf("the sender is not told where patient information belongs: %q", d.Actions[1].Text)
		}
	}
}

func TestPatientIDInRoomText(t *testing.T) {
	d := PatientIDInRoomText("name", "m.room.name", "name", "Bed 4 [NHS number removed]")
	if len(d.Actions) != 2 || d.Actions[0].Kind != SetState || d.Actions[0].Content["name"] != "Bed 4 [NHS number removed]" || d.Actions[1].Kind != NotifyRoom {
		t.Fatalf("%+v", d.Actions)
	}
}
