package policy

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// Room admins are called on by name when a message waiting for the record
// is about to expire, so their clients notify them; without any, the
// reminder still goes to the room.
func TestRecordReminder(t *testing.T) {
	expires := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	pl := PowerLevels{Users: map[string]int64{"@bot:t": 100, "@alice:t": 100, "@carol:t": 50}, StateDefault: 50, Events: map[string]int64{PolicyEventType: 100}}
	tests := []struct {
		name         string
		members      map[string]string
		wantMentions []string
		wantPrefix   string
	}{
		{"one admin, by display name", map[string]string{"@alice:t": "Alice Smith", "@bob:t": "Bob Jones", "@bot:t": "Caldicott"}, []string{"@alice:t"}, "Alice Smith: ⏰"},
		{"no display name: the user ID", map[string]string{"@alice:t": "", "@bob:t": "Bob"}, []string{"@alice:t"}, "@alice:t: ⏰"},
		{"below the policy level: not an admin", map[string]string{"@carol:t": "Carol", "@bob:t": "Bob"}, nil, "⏰"},
		{"an admin who left is not called", map[string]string{"@bob:t": "Bob"}, nil, "⏰"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := RecordReminder("$cmd", expires, RoomAdmins(pl, tt.members, "@bot:t"))
			if len(d.Actions) != 1 || d.Actions[0].Kind != Reply || d.Actions[0].EventID != "$cmd" {
				t.Fatalf("decision %+v", d)
			}
			a := d.Actions[0]
			if !slices.Equal(a.Mentions, tt.wantMentions) {
				t.Errorf("mentions %v, want %v", a.Mentions, tt.wantMentions)
			}
			if !strings.HasPrefix(a.Text, tt.wantPrefix) || !strings.Contains(a.Text, "retention period ends 1 Dec 2026 09:30 UTC") {
				t.Errorf("text %q", a.Text)
			}
		})
	}
}
