package gatekeeper

import (
	"cmp"
	"net/http"

	"github.com/caldicott/caldicott/nhsnumber"
	"github.com/caldicott/caldicott/policy"
)

// createRoomRequest is the part of a createRoom body judged.
type createRoomRequest struct {
	Name  string `json:"name"`
	Topic string `json:"topic"`
	// RoomAliasName becomes #name:server, shown in room lists and links.
	RoomAliasName string   `json:"room_alias_name"`
	Preset        string   `json:"preset"`
	Visibility    string   `json:"visibility"`
	Invite        []string `json:"invite"`
	// PowerLevelOverride is laid over Dendrite's default power levels.
	PowerLevelOverride map[string]any `json:"power_level_content_override"`
	// RoomVersion, when empty, is the homeserver's default
	// (dendriteDefaultRoomVersion).
	RoomVersion     string              `json:"room_version"`
	CreationContent map[string]any      `json:"creation_content"`
	InitialState    []initialStateEvent `json:"initial_state"`
}

// initialStateEvent is one event of createRoom's initial_state.
type initialStateEvent struct {
	Type     string         `json:"type"`
	StateKey string         `json:"state_key"`
	Content  map[string]any `json:"content"`
}

// judgeCreateRoom: POST /createRoom. A room whose initial state makes it
// clinical must start protected and invite nobody who could not be in it;
// no room's name or topic may hold an NHS number.
func (g *Gatekeeper) judgeCreateRoom(w http.ResponseWriter, r *http.Request) *Refusal {
	body, f := readJudgedBody(w, r, g.s.MaxJudgedBody)
	if f != nil {
		return f
	}
	var req createRoomRequest
	if f := decodeJSON(body, &req); f != nil {
		return f
	}
	n := policy.NewRoomRequest{Preset: req.Preset, Visibility: req.Visibility, PowerLevelOverride: req.PowerLevelOverride}
	text := []any{req.Name, req.Topic, req.RoomAliasName}
	for _, ev := range req.InitialState {
		n.InitialState = append(n.InitialState, policy.StateEvent{Type: ev.Type, StateKey: ev.StateKey, Content: ev.Content})
		if isRoomText(ev.Type) {
			text = append(text, ev.Content)
		}
	}
	if holdsNHSNumber(text) || nhsnumber.InAlias(req.RoomAliasName) {
		return patientIDInRoomText()
	}
	// Invitations written as membership events in the initial state are
	// invitations too (Dendrite sends them as the creator): judged as the
	// invite list is.
	invitees := req.Invite
	for _, ev := range req.InitialState {
		if ev.Type == "m.room.member" && policy.ContentString(ev.Content, "membership") == "invite" {
			invitees = append(invitees, ev.StateKey)
		}
	}
	if d := policy.ClinicalVersionGate(n.Class(), cmp.Or(req.RoomVersion, dendriteDefaultRoomVersion), policy.NamesAdditionalCreators(req.CreationContent)); !d.Allow {
		return forbidden(d.Rule, d.Reason)
	}
	if n.Class() == policy.Clinical && hasThirdPartyInvite(req.InitialState) {
		return thirdPartyInviteRefused() // as client_state refuses it in a clinical room
	}
	s := g.fed.current(r.Context())
	if n.Class() == policy.Clinical {
		for _, invitee := range invitees {
			facts, err := g.knownInvitee(r.Context(), s, invitee)
			if err != nil {
				return cannotCheck(err, "this clinical room was not created with its invitations")
			}
			n.Invitees = append(n.Invitees, facts)
		}
	} else {
		for _, invitee := range invitees {
			n.Invitees = append(n.Invitees, policy.InviteeFacts{UserID: invitee})
		}
	}
	if d := policy.NewRoomGate(n, g.rulesFor(s)); !d.Allow {
		return g.inviteRefused(s, invitees, d)
	}
	return nil
}

// hasThirdPartyInvite: the initial state holds an e-mail invitation
// (m.room.third_party_invite), which an identity server's binding would
// complete.
func hasThirdPartyInvite(initial []initialStateEvent) bool {
	for _, ev := range initial {
		if ev.Type == "m.room.third_party_invite" {
			return true
		}
	}
	return false
}

func isRoomText(eventType string) bool {
	return eventType == "m.room.name" || eventType == "m.room.topic"
}

func patientIDInRoomText() *Refusal {
	return forbidden(ReasonPatientID, "A room's name and topic cannot hold an NHS number: they are shown in invitations and room lists, outside the room. Describe the room without the patient's identifier.")
}

// dendriteDefaultRoomVersion is the version Dendrite v0.15.2 gives a room
// whose createRoom names none (room_server.default_room_version, 10 unless
// set; docs/gatekeeper.md says to leave it at 11 or below).
const dendriteDefaultRoomVersion = "10"
