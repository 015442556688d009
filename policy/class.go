package policy

import "strings"

// Class is a room's classification.
type Class string

// The three classes; a room with no policy event is Unclassified.
const (
	Unclassified Class = ""
	Clinical     Class = "clinical"
	Operational  Class = "operational"
	Social       Class = "social"
)

// Classes lists the classes a room can be given, in the order shown to users.
var Classes = []Class{Clinical, Operational, Social}

// ParseClass reads a class name typed by a user.
func ParseClass(s string) (Class, bool) {
	c := Class(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range Classes {
		if c == known {
			return c, true
		}
	}
	return Unclassified, false
}

// Describe says what a class means, for notices.
func (c Class) Describe() string {
	switch c {
	case Clinical:
		return "clinical (patient information may be shared; hardened and checked)"
	case Operational:
		return "operational (rotas and logistics; no patient information)"
	case Social:
		return "social (no patient information)"
	default:
		return "not classified"
	}
}

// PolicyEventType is the room state event holding a room's policy.
const PolicyEventType = "org.caldicott.policy"

// PolicyContent is the content of the org.caldicott.policy state event.
type PolicyContent struct {
	Class        Class  `json:"class"`
	ClassifiedBy string `json:"classified_by,omitempty"`
	// AllowedRoles and AllowedTeams narrow who may be in a clinical room.
	AllowedRoles []string `json:"allowed_roles,omitempty"`
	AllowedTeams []string `json:"allowed_teams,omitempty"`
	// AutoApprove "directory" invites requesters the directory shows eligible
	// without waiting for an admin.
	AutoApprove string `json:"auto_approve,omitempty"`
	// Suspend is how unverified members are suspended: "remove" (default)
	// or "mute" (power level below what sending messages needs).
	Suspend string `json:"suspend,omitempty"`
	// FiltersBy is who set AllowedRoles and AllowedTeams: the filters
	// remove only people below their level (see RoomFacts.FilterReach).
	// Read only from a policy event a Caldicott bot wrote.
	FiltersBy string `json:"filters_set_by,omitempty"`
}

// SuspendMute mutes instead of removing.
const SuspendMute = "mute"

// MutedLevel is the power level a muted member is given: below the
// default 0 needed to send messages.
const MutedLevel = -1

// AutoApproveDirectory is the one auto_approve value.
const AutoApproveDirectory = "directory"
