package policy

import "time"

// IdentityState is what Caldicott remembers of a member's shortfall.
type IdentityState struct {
	// ShortSince is when they were first seen falling short; zero when not.
	ShortSince time.Time
	// Suspended: removed from clinical rooms until fixed.
	Suspended bool
	// InRoomSinceSuspended: suspended, yet in a clinical room they have not
	// been suspended from (let back in by an admin, or their join was not
	// yet known when they were suspended).
	InRoomSinceSuspended bool
}

// IdentityGraces are the graces from config.
type IdentityGraces struct {
	NewMemberGrace time.Duration
	NewDeviceGrace time.Duration
}

// IdentityStep is what to do about a member's verification now.
type IdentityStep int

// Enforcement steps.
const (
	IdentityNothing IdentityStep = iota
	// IdentityWarn: tell them what to do; the grace starts.
	IdentityWarn
	// IdentitySuspend: remove them from clinical rooms until fixed.
	IdentitySuspend
	// IdentityReadmit: fixed; invite them back where they were suspended.
	IdentityReadmit
	// IdentityClear: fixed before the grace ran out; forget the shortfall.
	IdentityClear
)

// NextIdentityStep decides from a member's verification, what was
// remembered and the time. A changed identity suspends at once; any other
// shortfall gets a grace (shorter for a new unverified device). Members of
// other trusts fall short the same way: their own trust's confirmation
// reaches us through the federation's attestation rooms.
func NextIdentityStep(v Verification, st IdentityState, t IdentityGraces, now time.Time) IdentityStep {
	short := v.Status != Verified
	switch {
	case !short && st.Suspended:
		return IdentityReadmit
	case !short && !st.ShortSince.IsZero():
		return IdentityClear
	case short && st.Suspended && st.InRoomSinceSuspended:
		// A suspension holds in every clinical room, however they got in.
		return IdentitySuspend
	case !short || st.Suspended:
		return IdentityNothing
	case v.Status == IdentityChanged:
		return IdentitySuspend
	case st.ShortSince.IsZero():
		return IdentityWarn
	}
	grace := t.NewMemberGrace
	if v.Status == UnsignedDevice {
		grace = t.NewDeviceGrace
	}
	if !now.Before(st.ShortSince.Add(grace)) {
		return IdentitySuspend
	}
	return IdentityNothing
}

// SuspendAgain says whether a suspended member who is in a clinical room
// must be suspended there now. Not when muted there and still at the muted
// level (the suspension holds), nor when they hold as much power as the bot
// (it cannot; people were told at the suspension). A removal recorded for a
// room they are in again no longer holds: someone let them back.
func SuspendAgain(recorded, muted bool, level, botLevel int64) bool {
	if recorded && muted && level <= MutedLevel {
		return false
	}
	return level < botLevel
}
