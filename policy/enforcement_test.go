package policy

import (
	"testing"
	"time"
)

func TestNextEnforcementStep(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	times := IdentityGraces{NewMemberGrace: 24 * time.Hour, NewDeviceGrace: time.Hour}
	v := func(s VerificationStatus) Verification { return Verification{Status: s} }
	tests := []struct {
		name string
		v    Verification
		st   IdentityState
		want IdentityStep
	}{
		{"verified, nothing remembered", v(Verified), IdentityState{}, IdentityNothing},
		{"first seen without cross-signing: warn", v(NoCrossSigning), IdentityState{}, IdentityWarn},
		{"within the 24 h grace", v(NoCrossSigning), IdentityState{ShortSince: now.Add(-23 * time.Hour)}, IdentityNothing},
		{"24 h grace over: suspend", v(NotAttested), IdentityState{ShortSince: now.Add(-24 * time.Hour)}, IdentitySuspend},
		{"new device within its hour", v(UnsignedDevice), IdentityState{ShortSince: now.Add(-59 * time.Minute)}, IdentityNothing},
		{"new device hour over: suspend", v(UnsignedDevice), IdentityState{ShortSince: now.Add(-time.Hour)}, IdentitySuspend},
		{"identity changed: suspend at once", v(IdentityChanged), IdentityState{}, IdentitySuspend},
		{"already suspended, still short", v(NoCrossSigning), IdentityState{ShortSince: now.Add(-48 * time.Hour), Suspended: true}, IdentityNothing},
		{"suspended, back in a clinical room, still short: suspend there too", v(IdentityChanged), IdentityState{ShortSince: now.Add(-time.Minute), Suspended: true, InRoomSinceSuspended: true}, IdentitySuspend},
		{"suspended, back in a room, verified now: readmit", v(Verified), IdentityState{ShortSince: now.Add(-time.Minute), Suspended: true, InRoomSinceSuspended: true}, IdentityReadmit},
		{"fixed while suspended: readmit", v(Verified), IdentityState{ShortSince: now.Add(-48 * time.Hour), Suspended: true}, IdentityReadmit},
		{"fixed within grace: clear", v(Verified), IdentityState{ShortSince: now.Add(-time.Hour)}, IdentityClear},
		{"other trust, not yet confirmed by its trust: warned like anyone", v(NotAttested), IdentityState{}, IdentityWarn},
		{"other trust without cross-signing: warned", v(NoCrossSigning), IdentityState{}, IdentityWarn},
		{"other trust, reset identity: suspended", v(IdentityChanged), IdentityState{}, IdentitySuspend},
	}
	for _, tt := range tests {
		if got := NextIdentityStep(tt.v, tt.st, times, now); got != tt.want {
			t.Errorf("%s: step = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSuspendAgain(t *testing.T) {
	tests := []struct {
		name            string
		recorded, muted bool
		level           int64
		want            bool
	}{
		{"never suspended here", false, false, 0, true},
		{"removed, and back in the room", true, false, 0, true},
		{"muted and still muted", true, true, MutedLevel, false},
		{"muted, then given their voice back by hand", true, true, 0, true},
		{"muted record but no mute level", true, true, 50, true},
		{"as much power as the bot", false, false, 100, false},
		{"removed, back with the bot's power", true, false, 100, false},
	}
	for _, tt := range tests {
		if got := SuspendAgain(tt.recorded, tt.muted, tt.level, 100); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
