package policy

import (
	"testing"
	"time"
)

func TestNextEnforcementStep(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	times := EnforcementTimes{NewMemberGrace: 24 * time.Hour, NewDeviceGrace: time.Hour}
	v := func(s VerificationStatus) Verification { return Verification{Status: s} }
	tests := []struct {
		name string
		v    Verification
		st   EnforcementState
		want EnforcementStep
	}{
		{"verified, nothing remembered", v(Verified), EnforcementState{}, EnforceNothing},
		{"first seen without cross-signing: warn", v(NoCrossSigning), EnforcementState{}, EnforceWarn},
		{"within the 24 h grace", v(NoCrossSigning), EnforcementState{ShortSince: now.Add(-23 * time.Hour)}, EnforceNothing},
		{"24 h grace over: suspend", v(NotAttested), EnforcementState{ShortSince: now.Add(-24 * time.Hour)}, EnforceSuspend},
		{"new device within its hour", v(UnsignedDevice), EnforcementState{ShortSince: now.Add(-59 * time.Minute)}, EnforceNothing},
		{"new device hour over: suspend", v(UnsignedDevice), EnforcementState{ShortSince: now.Add(-time.Hour)}, EnforceSuspend},
		{"identity changed: suspend at once", v(IdentityChanged), EnforcementState{}, EnforceSuspend},
		{"already suspended, still short", v(NoCrossSigning), EnforcementState{ShortSince: now.Add(-48 * time.Hour), Suspended: true}, EnforceNothing},
		{"fixed while suspended: readmit", v(Verified), EnforcementState{ShortSince: now.Add(-48 * time.Hour), Suspended: true}, EnforceReadmit},
		{"fixed within grace: clear", v(Verified), EnforcementState{ShortSince: now.Add(-time.Hour)}, EnforceClear},
		{"other trust, not yet confirmed by its trust: warned like anyone", v(NotAttested), EnforcementState{}, EnforceWarn},
		{"other trust without cross-signing: warned", v(NoCrossSigning), EnforcementState{}, EnforceWarn},
		{"other trust, reset identity: suspended", v(IdentityChanged), EnforcementState{}, EnforceSuspend},
	}
	for _, tt := range tests {
		if got := NextEnforcementStep(tt.v, tt.st, times, now); got != tt.want {
			t.Errorf("%s: step = %v, want %v", tt.name, got, tt.want)
		}
	}
}
