package policy

import "testing"

func TestPublishStanding(t *testing.T) {
	tests := []struct {
		name      string
		status    StaffStatus
		known     bool
		published bool
		want      string // "ban", "withdraw" or ""
	}{
		{"a leaver not yet published", StatusLeft, true, false, "ban"},
		{"a suspension not yet published", StatusSuspended, true, false, "ban"},
		{"a leaver already published", StatusLeft, true, true, ""},
		{"back to active", StatusActive, true, true, "withdraw"},
		{"active and never published", StatusActive, true, false, ""},
		{"not in the directory: nothing to say", "", false, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := PublishStanding("@a:trust-a", tc.status, tc.known, "Trust A", tc.published)
			got := ""
			if len(d.Actions) == 1 {
				a := d.Actions[0]
				if a.EventType != TypeUserRule || a.StateKey != "rule:@a:trust-a" {
					t.Fatalf("%+v", a)
				}
				got = "withdraw"
				if a.Content["recommendation"] == RecommendBan && a.Content["entity"] == "@a:trust-a" {
					got = "ban"
				}
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if d := PublishTrust("trust-c.nhs.uk", true, "@ig:trust-a", "$cmd"); d.Actions[0].Content[RequestedByKey] != "@ig:trust-a" || d.Actions[0].Content["recommendation"] != RecommendAllow {
		t.Fatalf("%+v", d)
	}
}
