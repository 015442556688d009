package policy

// ActionKind says what the executor should do.
type ActionKind string

// Action kinds. The executor is the only code that carries them out.
const (
	// SetState sends a state event (EventType, StateKey, Content).
	SetState ActionKind = "set_state"
	// NotifyRoom posts a notice in the room the decision is about.
	NotifyRoom ActionKind = "notify_room"
	// NotifyManagement posts a notice in the trust's management room.
	NotifyManagement ActionKind = "notify_management"
	// Kick removes UserID from the room; Text is the reason they are shown.
	Kick ActionKind = "kick"
)

// Action is one thing to do, with the rule that asked for it and why.
type Action struct {
	Kind      ActionKind
	Rule      string
	EventType string
	StateKey  string
	Content   map[string]any
	// UserID is whom a Kick removes.
	UserID string
	// Text is the notice, for the notify kinds, or a short description of
	// the change, for SetState.
	Text string
	// Reason is why, in plain English, for the audit log.
	Reason string
}

// Problem is something non-compliant that the bot cannot fix itself.
type Problem struct {
	Rule string
	// Text says what is wrong and what a person must do.
	Text string
}

// Decision is what the rules decided: actions to take and problems to report.
type Decision struct {
	Actions  []Action
	Problems []Problem
}

// Fixes returns the SetState actions.
func (d Decision) Fixes() []Action {
	var out []Action
	for _, a := range d.Actions {
		if a.Kind == SetState {
			out = append(out, a)
		}
	}
	return out
}

// Compliant is true when nothing needs fixing and nothing is wrong.
func (d Decision) Compliant() bool { return len(d.Fixes()) == 0 && len(d.Problems) == 0 }

// ProblemTexts lists the problems' texts.
func (d Decision) ProblemTexts() []string {
	out := make([]string, len(d.Problems))
	for i, p := range d.Problems {
		out[i] = p.Text
	}
	return out
}
