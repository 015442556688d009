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
	// Reply answers a command: a notice in the room, in reply to EventID.
	Reply ActionKind = "reply"
	// Invite invites UserID to the room; Text is the reason they are shown.
	Invite ActionKind = "invite"
	// Redact removes the content of EventID; Text is the reason.
	Redact ActionKind = "redact"
	// CreateRoom creates the room Plan describes; the executor reports its ID.
	CreateRoom ActionKind = "create_room"
	// Join makes the bot join the room (Target: a room ID or alias, else
	// the decision's room).
	Join ActionKind = "join"
	// Leave makes the bot leave the room, or decline its invitation.
	Leave ActionKind = "leave"
	// SignOutDevices ends every session of UserID (the homeserver's admin API).
	SignOutDevices ActionKind = "sign_out_devices"
	// NotifyUser tells UserID something privately: in Target, their direct
	// chat with the bot when it is known, else in a direct chat opened for it.
	NotifyUser ActionKind = "notify_user"
	// QuietBot sets the bot's own push rules so that nothing notifies it.
	QuietBot ActionKind = "quiet_bot"
	// DeleteMedia removes a file's bytes from the homeserver's media store:
	// Target is the mxc:// URI decided on, Hash the content hash naming the
	// directory the bytes (and every other URI's with the same bytes) live in.
	DeleteMedia ActionKind = "delete_media"
	// Upgrade replaces the room with a new one of room version Version
	// (the homeserver's room upgrade), the bot its creator; the executor
	// reports the new room's ID.
	Upgrade ActionKind = "upgrade_room"
)

// Kinds lists every action kind, for the executor's completeness test.
var Kinds = []ActionKind{SetState, NotifyRoom, NotifyManagement, Kick, Reply, Invite, Redact, CreateRoom, Join, Leave, SignOutDevices, NotifyUser, QuietBot, DeleteMedia, Upgrade}

// Visible reports whether people see the action happen, so doing it twice
// would show: these are the ones that must never repeat.
func (k ActionKind) Visible() bool {
	return k != SignOutDevices && k != QuietBot && k != DeleteMedia
}

// Action is one thing to do, with the rule that asked for it and why.
type Action struct {
	Kind      ActionKind
	Rule      string
	EventType string
	StateKey  string
	Content   map[string]any
	// UserID is whom a Kick removes, an Invite invites or a NotifyUser tells.
	UserID string
	// EventID is the event a Redact removes or a Reply answers.
	EventID string
	// Target is the room a Join enters (ID or alias) or a NotifyUser's
	// direct chat, when known.
	Target string
	// Hash is a DeleteMedia's content hash (unpadded URL-safe base64 SHA-256).
	Hash string `json:",omitempty"`
	// Version is the room version an Upgrade moves the room to.
	Version string `json:",omitempty"`
	// Plan is the room a CreateRoom makes.
	Plan *NewRoomPlan
	// Text is the notice, for the notify kinds and Reply, or a short
	// description of the change, for SetState.
	Text string
	// Reason is why, in plain English, for the audit log.
	Reason string
	// Mentions are the users a Reply or NotifyRoom calls on (m.mentions,
	// and sent as a message rather than a notice, so that it notifies):
	// for what a person must act on, never for information.
	Mentions []string
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

// Removes reports whether the decision removes user from the room.
func (d Decision) Removes(user string) bool {
	for _, a := range d.Actions {
		if a.Kind == Kick && a.UserID == user {
			return true
		}
	}
	return false
}

// Each splits the decision into one decision per action, for a job that
// acts one at a time (yielding to enforcement between writes).
func (d Decision) Each() []Decision {
	out := make([]Decision, len(d.Actions))
	for i, a := range d.Actions {
		out[i] = Decision{Actions: []Action{a}}
	}
	return out
}
