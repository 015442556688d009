package policylist

// Kind is what a rule is about: the last part of its event type.
type Kind string

const (
	KindUser   Kind = "user"
	KindServer Kind = "server"
	KindRoom   Kind = "room"
)

// Recommendation is what a rule asks readers to do, normalised: legacy and
// unstable names are accepted on the way in and stored under these names.
type Recommendation string

const (
	// Ban is the spec's m.ban (legacy org.matrix.mjolnir.ban).
	Ban Recommendation = "m.ban"
	// Allow is MSC4150's m.allow. The MSC's "Unstable prefix" section says
	// implementations should write org.matrix.mjolnir.allow until it is
	// accepted; both are read, and AllowUnstable is the name to publish.
	Allow Recommendation = "m.allow"
)

// AllowUnstable is the name MSC4150 asks implementations to use for m.allow
// until the MSC is merged — what Mjolnir, Draupnir and Meowlnir already read.
// Publish member-trust rules with it; this package reads both names.
const AllowUnstable = "org.matrix.mjolnir.allow"

// The stable event types, for code that publishes rules.
const (
	TypeUserRule   = "m.policy.rule.user"
	TypeServerRule = "m.policy.rule.server"
	TypeRoomRule   = "m.policy.rule.room"
)

// Rule is one policy in force. Type and StateKey say where it lives in the
// list room: Matrix keeps one state event per (type, state key), so a rule
// under a legacy type and one under the stable type are two rules.
type Rule struct {
	Kind           Kind
	Entity         string
	Recommendation Recommendation
	Reason         string
	Sender         string
	Type           string
	StateKey       string
	EventID        string
}

// Refusal is an event that was not applied, kept so the caller can report it
// to the management room.
type Refusal struct {
	Type, StateKey, Sender, EventID string
	Kind                            Kind
	// Entity and Recommendation are as sent (truncated), so a report can
	// show what was attempted even when it made no sense.
	Entity, Recommendation string
	// Reason says why, in words an IG lead can act on.
	Reason string
	// Kept is set when the refused event overwrote an accepted rule at its
	// (type, state key) in the room's state. That rule stays in force here,
	// although the room no longer shows it: report the overwrite.
	Kept *Rule
}

// Change is what one event did, so the caller can act at once: a new ban
// removes the person now, a removed ban lets them be invited again, a change
// to the member trusts rewrites server ACLs. Added and Removed together mean
// a rule was replaced. All three nil: nothing changed (not a policy event, a
// removal of nothing, or an event already applied).
type Change struct {
	Added   *Rule
	Removed *Rule
	Refused *Refusal
}

// Replaced reports whether the event swapped one rule for another at the
// same key.
func (c Change) Replaced() bool { return c.Added != nil && c.Removed != nil }

// None reports whether the event changed nothing and was not refused.
func (c Change) None() bool { return c.Added == nil && c.Removed == nil && c.Refused == nil }
