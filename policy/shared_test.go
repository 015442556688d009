package policy

import "testing"

func TestSharedRoomWhoActs(t *testing.T) {
	tests := []struct {
		name            string
		r               SharedRoom
		hardens         string
		judgesB, judges string // who judges a member of trust B, and an outsider
	}{
		{"the creator's bot hardens; each bot judges its own", SharedRoom{CreatorServer: "a", Bots: map[string]int64{"a": 100, "b": 100}, HardenPower: 100, KickPower: 50}, "a", "b", "a"},
		{"hand-over: the creator's bot is gone", SharedRoom{CreatorServer: "a", Bots: map[string]int64{"b": 100, "c": 100}, HardenPower: 100, KickPower: 50}, "b", "b", "b"},
		{"hand-over: the creator's bot lacks the power", SharedRoom{CreatorServer: "a", Bots: map[string]int64{"a": 50, "b": 100}, HardenPower: 100, KickPower: 50}, "b", "b", "b"},
		{"a member's bot that cannot remove: the hardening bot judges", SharedRoom{CreatorServer: "a", Bots: map[string]int64{"a": 100, "b": 0}, HardenPower: 100, KickPower: 50}, "a", "a", "a"},
		{"only one bot", SharedRoom{CreatorServer: "x", Bots: map[string]int64{"a": 100}, HardenPower: 100, KickPower: 50}, "a", "a", "a"},
		{"no bot has power", SharedRoom{CreatorServer: "a", Bots: map[string]int64{"a": 0}, HardenPower: 100, KickPower: 50}, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.HardeningServer(); got != tc.hardens {
				t.Errorf("hardens: %q, want %q", got, tc.hardens)
			}
			if got := tc.r.JudgingServer("b"); got != tc.judgesB {
				t.Errorf("judges b: %q, want %q", got, tc.judgesB)
			}
			if got := tc.r.JudgingServer(""); got != tc.judges {
				t.Errorf("judges an outsider: %q, want %q", got, tc.judges)
			}
		})
	}
}
