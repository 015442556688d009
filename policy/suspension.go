package policy

import "fmt"

// StatusWords says a verification status in a few words, for rooms and status.
func StatusWords(s VerificationStatus) string {
	switch s {
	case Verified:
		return "✅ verified"
	case NotAttested:
		return "⚠ not yet confirmed by the trust"
	case UnsignedDevice:
		return "⚠ has an unverified device"
	case IdentityChanged:
		return "❌ identity changed"
	case NoCrossSigning:
		return "❌ no cross-signing"
	}
	return string(s)
}

// WithUserLevel is a power levels content (every field kept) with one
// user's level changed: the content of a new m.room.power_levels.
func WithUserLevel(content map[string]any, user string, level int64) map[string]any {
	out := make(map[string]any, len(content)+1)
	for k, v := range content {
		out[k] = v
	}
	users := map[string]any{}
	if old, ok := content["users"].(map[string]any); ok {
		for k, v := range old {
			users[k] = v
		}
	}
	users[user] = level
	out["users"] = users
	return out
}

// Suspension is one unverified member to suspend from one clinical room.
type Suspension struct {
	UserID       string
	Verification Verification
	// Mute: the room mutes instead of removing (suspend-mode mute).
	Mute bool
	// PowerLevels is the room's current m.room.power_levels content, for muting.
	PowerLevels map[string]any
}

// Suspend removes (or mutes) an unverified member and tells the room why.
func Suspend(s Suspension) Decision {
	reason := "Suspended from clinical rooms until your identity is verified: " + s.Verification.Explain
	why := "verification: " + string(s.Verification.Status)
	words := StatusWords(s.Verification.Status)
	if s.Mute {
		return Decision{Actions: []Action{
			{Kind: SetState, Rule: RuleSuspension, EventType: "m.room.power_levels", Content: WithUserLevel(s.PowerLevels, s.UserID, MutedLevel), Text: "mute " + s.UserID, Reason: why},
			{Kind: NotifyRoom, Rule: RuleSuspension, Text: fmt.Sprintf("I muted %s in this clinical room: their identity is not verified (%s). %s", s.UserID, words, reason), Reason: "suspension explained"},
		}}
	}
	return Decision{Actions: []Action{
		{Kind: Kick, Rule: RuleSuspension, UserID: s.UserID, Text: reason, Reason: why},
		{Kind: NotifyRoom, Rule: RuleSuspension, Text: fmt.Sprintf("I suspended %s from this clinical room: their identity is not verified (%s). They will be invited back once it is.", s.UserID, words), Reason: "suspension explained"},
	}}
}

// CannotSuspend tells the room and the IG team that people must act.
func CannotSuspend(room, user, why string) Decision {
	msg := fmt.Sprintf("I could not suspend %s from clinical room %s (%s). A room admin or the IG team must remove them until their identity is confirmed.", user, room, why)
	return RoomAndManagementNotice(RuleCannotSuspend, msg, "suspension not possible: "+why)
}

// Readmit lets a re-verified member back: their power restored where they
// were muted (mutedFrom, with the room's current power levels), else invited.
func Readmit(user string, mutedFrom *int64, powerLevels map[string]any) Decision {
	if mutedFrom != nil {
		return Decision{Actions: []Action{
			{Kind: SetState, Rule: RuleReadmission, EventType: "m.room.power_levels", Content: WithUserLevel(powerLevels, user, *mutedFrom), Text: "unmute " + user, Reason: "identity verified again"},
			{Kind: NotifyRoom, Rule: RuleReadmission, Text: fmt.Sprintf("%s's identity is verified again, so they can post here again.", user), Reason: "readmission explained"},
		}}
	}
	return Decision{Actions: []Action{
		{Kind: Invite, Rule: RuleReadmission, UserID: user, Text: "identity verified", Reason: "identity verified again; invited back"},
		{Kind: NotifyRoom, Rule: RuleReadmission, Text: fmt.Sprintf("%s's identity is verified again, so I have invited them back.", user), Reason: "readmission explained"},
	}}
}

// VerificationWarning tells a member's clinical room what is wrong with
// their verification, and by when it must be fixed.
func VerificationWarning(user string, v Verification, suspendAfter string) Decision {
	what := fmt.Sprintf("%s: %s", user, v.Explain)
	if suspendAfter != "" {
		what += fmt.Sprintf(" If this is not fixed within %s, I will suspend you from clinical rooms until it is.", suspendAfter)
	}
	return RoomNotice(RuleVerificationWarning, what, string(v.Status))
}

// IdentityChangedWarning warns a room, as Element warns "identity changed".
func IdentityChangedWarning(user string) Decision {
	return RoomNotice(RuleIdentityChanged, fmt.Sprintf("⚠ %s's identity has changed. This may be a new phone, or someone else. I have suspended them from clinical rooms until their identity is confirmed again.", user), string(IdentityChanged))
}
