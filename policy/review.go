package policy

import "time"

// ReviewState is where a clinical room's membership review stands.
type ReviewState struct {
	NextDue time.Time
	// Started is when the open review began; zero when none is open.
	Started   time.Time
	Escalated bool
}

// ReviewTimes are the review's periods (from config).
type ReviewTimes struct {
	// Grace is how long admins have to confirm before escalation.
	Grace time.Duration
	// RemovalAfter, after escalation, removes members not confirmed; zero: never.
	RemovalAfter time.Duration
}

// ReviewStep is what the schedule asks for now.
type ReviewStep int

// Review steps.
const (
	ReviewNothing ReviewStep = iota
	ReviewStart
	ReviewEscalate
	ReviewRemoveUnconfirmed
)

// NextReviewStep decides, from the state and the time (an input: rules read
// no clock), whether to start a review, escalate it or remove the unconfirmed.
func NextReviewStep(s ReviewState, t ReviewTimes, now time.Time) ReviewStep {
	switch {
	case s.Started.IsZero():
		if !s.NextDue.IsZero() && !now.Before(s.NextDue) {
			return ReviewStart
		}
	case !s.Escalated:
		if !now.Before(s.Started.Add(t.Grace)) {
			return ReviewEscalate
		}
	case t.RemovalAfter > 0:
		if !now.Before(s.Started.Add(t.Grace + t.RemovalAfter)) {
			return ReviewRemoveUnconfirmed
		}
	}
	return ReviewNothing
}

// Inactive is whether a member's last activity is older than the limit.
// A member never seen active counts from when they were first known.
func Inactive(lastActive, now time.Time, limit time.Duration) bool {
	return limit > 0 && !lastActive.IsZero() && now.Sub(lastActive) > limit
}
