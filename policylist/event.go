package policylist

import "encoding/json"

// Event is the part of a Matrix event the list needs. For a redaction
// (m.room.redaction), put the redacted event's ID in Content as "redacts",
// as room versions 11 and later already do.
type Event struct {
	Type, StateKey, Sender, EventID string
	Content                         json.RawMessage
}

// ruleTypes maps every policy event type in use to its kind: the spec's
// m.policy.rule.*, the pre-spec m.room.rule.* and Mjolnir's unstable
// org.matrix.mjolnir.rule.* that older lists still carry.
var ruleTypes = map[string]Kind{
	TypeUserRule:                     KindUser,
	TypeServerRule:                   KindServer,
	TypeRoomRule:                     KindRoom,
	"m.room.rule.user":               KindUser,
	"m.room.rule.server":             KindServer,
	"m.room.rule.room":               KindRoom,
	"org.matrix.mjolnir.rule.user":   KindUser,
	"org.matrix.mjolnir.rule.server": KindServer,
	"org.matrix.mjolnir.rule.room":   KindRoom,
}

const typeRedaction = "m.room.redaction"

// KindOf returns the kind of rule an event type carries, and false for an
// event type that is not a policy rule.
func KindOf(eventType string) (Kind, bool) {
	k, ok := ruleTypes[eventType]
	return k, ok
}

// recommendations maps every accepted recommendation name to its normalised
// form. MSC4150 names org.matrix.mjolnir.allow as m.allow's unstable prefix.
var recommendations = map[string]Recommendation{
	"m.ban":                    Ban,
	"org.matrix.mjolnir.ban":   Ban,
	"m.allow":                  Allow,
	"org.matrix.mjolnir.allow": Allow,
}

// RecommendationOf normalises a recommendation as written in an event,
// and reports false for one this package does not know.
func RecommendationOf(name string) (Recommendation, bool) {
	r, ok := recommendations[name]
	return r, ok
}

// ruleContent is a policy event's content as far as the spec defines it.
type ruleContent struct {
	Entity, Recommendation, Reason string
}

// parseContent reads a policy event's content. removal is true when the
// spec says the event removes the rule at its key: empty content, or
// entity or recommendation missing, empty or not a string. A reason that is
// missing or not a string is read as empty rather than as a removal: the
// spec requires one, but lists in the wild omit it, and a ban without a
// reason is still a ban.
//
// Keys are matched exactly, as every other reader of the list matches them:
// decoding into a struct would also take "ENTITY" or "reCommendation"
// (encoding/json matches field names without regard to case), a rule that
// Caldicott would enforce and no other client would show.
func parseContent(raw json.RawMessage) (c ruleContent, removal bool) {
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return c, true
	}
	entity, ok1 := fields["entity"].(string)
	rec, ok2 := fields["recommendation"].(string)
	if !ok1 || !ok2 || entity == "" || rec == "" {
		return c, true
	}
	reason, _ := fields["reason"].(string)
	return ruleContent{Entity: entity, Recommendation: rec, Reason: reason}, false
}

// redactedID reads the "redacts" field of a redaction's content.
func redactedID(raw json.RawMessage) string {
	var c struct {
		Redacts string `json:"redacts"`
	}
	_ = json.Unmarshal(raw, &c)
	return c.Redacts
}
