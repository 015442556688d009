package policy

import (
	"strings"
	"testing"
)

// Each level is read as gomatrixserverlib's levelJSONValue reads it for
// Dendrite; a value it refuses (the whole event with it) is not read.
func TestPowerLevelReadAsTheHomeserver(t *testing.T) {
	tests := []struct {
		v    any
		want int64
		ok   bool
	}{
		{float64(1000), 1000, true},
		{float64(99.9), 99, true},
		{"1000", 1000, true},
		{" 1000", 1000, true},
		{"1000 ", 1000, true},
		{"\t1000\n", 1000, true},
		{"+1000", 1000, true},
		{"-5", -5, true},
		{"1e3", 0, false},
		{"0x10", 0, false},
		{"1_000", 0, false},
		{"", 0, false},
		{true, 0, false},
	}
	for _, tt := range tests {
		got, ok := powerLevel(tt.v)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("powerLevel(%#v) = %d, %v; want %d, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

// A member raised above the bot by a level written as a padded string is
// refused, in a new clinical room as in a change.
func TestPaddedPowerLevelIsRefused(t *testing.T) {
	r := Requirements{BotUserID: "@caldicott:trust-a"}
	for _, v := range []any{" 1000", "1000\t", float64(1000), "1000"} {
		n := NewRoomRequest{InitialState: []StateEvent{
			{Type: PolicyEventType, Content: map[string]any{"class": "clinical"}},
			{Type: "m.room.encryption", Content: map[string]any{"algorithm": "m.megolm.v1.aes-sha2"}},
			{Type: "m.room.power_levels", Content: map[string]any{"users": map[string]any{"@me:trust-a": v}}},
		}}
		if d := NewRoomGate(n, GateRules{Requirements: r}); d.Allow || !strings.Contains(d.Reason, "nobody may have a power level above") {
			t.Errorf("users level %q: %+v; want refused, nobody above the bot", v, d)
		}
	}
}
