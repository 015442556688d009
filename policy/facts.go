package policy

// PowerLevels is the part of m.room.power_levels the rules need, with the
// spec's defaults already applied by whoever parsed the event.
type PowerLevels struct {
	Users         map[string]int64
	UsersDefault  int64
	Events        map[string]int64
	EventsDefault int64
	StateDefault  int64
	Invite        int64
	Kick          int64
	Ban           int64
	Redact        int64
}

// UserLevel is a user's power level in the room.
func (p PowerLevels) UserLevel(userID string) int64 {
	if l, ok := p.Users[userID]; ok {
		return l
	}
	return p.UsersDefault
}

// EventLevel is the level needed to send an event of this type.
func (p PowerLevels) EventLevel(eventType string, isState bool) int64 {
	if l, ok := p.Events[eventType]; ok {
		return l
	}
	if isState {
		return p.StateDefault
	}
	return p.EventsDefault
}

// ServerACL is the content of m.room.server_acl.
type ServerACL struct {
	Allow           []string `json:"allow"`
	Deny            []string `json:"deny"`
	AllowIPLiterals bool     `json:"allow_ip_literals"`
}

// RoomFacts is what Caldicott knows of a room's current state.
type RoomFacts struct {
	RoomID              string
	Class               Class
	JoinRule            string // "" when the room has no join rules event (treated as invite)
	GuestAccess         string // "" when absent (treated as forbidden)
	HistoryVisibility   string // "" when absent (treated as shared)
	EncryptionAlgorithm string // "" when the room is not encrypted
	ServerACL           *ServerACL
	PowerLevels         PowerLevels
	// Policy is the room's org.caldicott.policy as the facts read it: its
	// Class is Class as read (rules read Class, which a caller may change
	// in flight), its FiltersBy the setter the facts found (see
	// appservice/facts), its ClassifiedBy empty (the store records who
	// classified). Zero when the room has no readable policy event.
	Policy PolicyContent
	// Alias is the room's canonical alias, for reports (never its name).
	Alias string
	// Retention is the room's m.room.retention content, nil when unset.
	Retention []byte
	// Creator is who created the room: their trust's bot hardens it when
	// several trusts' bots share it.
	Creator string
}

// PolicyContent is the room's policy as the facts show it, with the class
// replaced: what the bot writes back when it changes the class or an option.
func (f RoomFacts) PolicyContent(class Class) PolicyContent {
	p := f.Policy
	p.Class = class
	return p
}

// Requirements come from config: who the bot is and which servers form the federation.
type Requirements struct {
	BotUserID string
	// OwnServer is this trust's server name (may include a port).
	OwnServer string
	// FederationServers are the other trusts' server names.
	FederationServers []string
	// HistoryVisibility is joined or invited.
	HistoryVisibility string
	// KnockAllowed accepts the knock join rule, for homeservers that implement
	// knocking (Dendrite v0.15.2 does not).
	KnockAllowed bool
}

// BotPowerLevel is the power the bot needs in a clinical room: the top, so
// nobody can demote it or out-rank it to undo the hardening.
const BotPowerLevel = 100
