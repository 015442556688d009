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
		own  bool
		want EnforcementStep
	}{
		{"verified, nothing remembered", v(Verified), EnforcementState{}, true, EnforceNothing},
		{"first seen without cross-signing: warn", v(NoCrossSigning), EnforcementState{}, true, EnforceWarn},
		{"within the 24 h grace", v(NoCrossSigning), EnforcementState{ShortSince: now.Add(-23 * time.Hour)}, true, EnforceNothing},
		{"24 h grace over: suspend", v(NotAttested), EnforcementState{ShortSince: now.Add(-24 * time.Hour)}, true, EnforceSuspend},
		{"new device within its hour", v(UnsignedDevice), EnforcementState{ShortSince: now.Add(-59 * time.Minute)}, true, EnforceNothing},
		{"new device hour over: suspend", v(UnsignedDevice), EnforcementState{ShortSince: now.Add(-time.Hour)}, true, EnforceSuspend},
		{"identity changed: suspend at once", v(IdentityChanged), EnforcementState{}, true, EnforceSuspend},
		{"already suspended, still short", v(NoCrossSigning), EnforcementState{ShortSince: now.Add(-48 * time.Hour), Suspended: true}, true, EnforceNothing},
		{"fixed while suspended: readmit", v(Verified), EnforcementState{ShortSince: now.Add(-48 * time.Hour), Suspended: true}, true, EnforceReadmit},
		{"fixed within grace: clear", v(Verified), EnforcementState{ShortSince: now.Add(-time.Hour)}, true, EnforceClear},
		{"other trust, not attested by us: fine", v(NotAttested), EnforcementState{}, false, EnforceNothing},
		{"other trust without cross-signing: warned", v(NoCrossSigning), EnforcementState{}, false, EnforceWarn},
		{"other trust, reset identity: suspended", v(IdentityChanged), EnforcementState{}, false, EnforceSuspend},
	}
	for _, tt := range tests {
		if got := NextEnforcementStep(tt.v, tt.st, times, tt.own, now); got != tt.want {
			t.Errorf("%s: step = %v, want %v", tt.name, got, tt.want)
		}
	}
}
