package hardening

import (
	"slices"
	"testing"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/store"
)

func TestByRisk(t *testing.T) {
	known := []store.RoomPolicy{
		{RoomID: "!ok", Class: "clinical", Compliant: true},
		{RoomID: "!ok2", Class: "clinical", Compliant: true},
		{RoomID: "!bad", Class: "clinical", Compliant: false},
		{RoomID: "!ops", Class: "operational", Compliant: true},
		{RoomID: "!social", Class: "social"},
	}
	tests := []struct {
		name        string
		rooms, want []id.RoomID
	}{
		{"unknown, then not compliant, then clinical, then the rest",
			[]id.RoomID{"!ops", "!ok", "!new", "!bad", "!social"},
			[]id.RoomID{"!new", "!bad", "!ok", "!ops", "!social"}},
		{"the homeserver's order kept within a rank",
			[]id.RoomID{"!ok2", "!new2", "!ok", "!new1"},
			[]id.RoomID{"!new2", "!new1", "!ok2", "!ok"}},
		{"nothing known: unchanged",
			[]id.RoomID{"!b", "!a"},
			[]id.RoomID{"!b", "!a"}},
		{"no rooms", nil, []id.RoomID{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.rooms)
			got := byRisk(tt.rooms, known)
			if !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("byRisk(%v) = %v, want %v", tt.rooms, got, tt.want)
			}
			if !slices.Equal(in, tt.rooms) {
				t.Errorf("byRisk changed its argument: %v", tt.rooms)
			}
		})
	}
}
