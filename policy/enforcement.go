package policy

import "time"

// EnforcementState is what Caldicott remembers of a member's shortfall.
type EnforcementState struct {
	// ShortSince is when they were first seen falling short; zero when not.
	ShortSince time.Time
	// Suspended: removed from clinical rooms until fixed.
	Suspended bool
}

// EnforcementTimes are the graces from config.
type EnforcementTimes struct {
	NewMemberGrace time.Duration
	NewDeviceGrace time.Duration
}

// EnforcementStep is what to do about a member's verification now.
type EnforcementStep int

// Enforcement steps.
const (
	EnforceNothing EnforcementStep = iota
	// EnforceWarn: tell them what to do; the grace starts.
	EnforceWarn
	// EnforceSuspend: remove them from clinical rooms until fixed.
	EnforceSuspend
	// EnforceReadmit: fixed; invite them back where they were suspended.
	EnforceReadmit
	// EnforceClear: fixed before the grace ran out; forget the shortfall.
	EnforceClear
)

// NextEnforcementStep decides from a member's verification, what was
// remembered and the time. A changed identity suspends at once; any other
// shortfall gets a grace (shorter for a new unverified device). Members of
// other trusts fall short the same way: their own trust's confirmation
// reaches us through the federation's attestation rooms.
func NextEnforcementStep(v Verification, st EnforcementState, t EnforcementTimes, now time.Time) EnforcementStep {
	short := v.Status != Verified
	switch {
	case !short && st.Suspended:
		return EnforceReadmit
	case !short && !st.ShortSince.IsZero():
		return EnforceClear
	case !short || st.Suspended:
		return EnforceNothing
	case v.Status == IdentityChanged:
		return EnforceSuspend
	case st.ShortSince.IsZero():
		return EnforceWarn
	}
	grace := t.NewMemberGrace
	if v.Status == UnsignedDevice {
		grace = t.NewDeviceGrace
	}
	if !now.Before(st.ShortSince.Add(grace)) {
		return EnforceSuspend
	}
	return EnforceNothing
}
