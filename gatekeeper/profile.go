package gatekeeper

import (
	"net/http"
	"strings"

	"github.com/caldicott/caldicott/nhsnumber"
	"github.com/caldicott/caldicott/policy"
)

// Endpoints of names shown outside any one room.
const (
	// EndpointClientProfile: PUT /profile/{userID}/displayname.
	EndpointClientProfile = "client_profile"
	// EndpointClientAlias: PUT /directory/room/{roomAlias}.
	EndpointClientAlias = "client_alias"
)

// judgeDisplayName: PUT /profile/{userID}/displayname. A display name is
// shown in every room its owner is in, in invitations and in the user
// directory, as a room's name is: it may not hold an NHS number.
func (g *Gatekeeper) judgeDisplayName(w http.ResponseWriter, r *http.Request) *Refusal {
	body, f := readJudgedBody(w, r, g.s.MaxJudgedBody)
	if f != nil {
		return f
	}
	var content map[string]any
	if f := decodeJSON(body, &content); f != nil {
		return f
	}
	if holdsNHSNumber(policy.ContentField(content, "displayname")) {
		return patientIDInDisplayName()
	}
	return nil
}

// judgeAlias: PUT /directory/room/{roomAlias}. An alias is shown in links,
// room lists and invitations, outside the room: it may not hold an NHS
// number, whatever the room.
func (g *Gatekeeper) judgeAlias(_ http.ResponseWriter, r *http.Request) *Refusal {
	alias, f := pathParam(r, "roomAlias")
	if f != nil {
		return f
	}
	// The localpart only: a server's name is not the client's to choose.
	local, _, _ := strings.Cut(alias, ":")
	if nhsnumber.InAlias(local) {
		return forbidden(ReasonPatientID, "A room's address cannot hold an NHS number: it is shown in links, room lists and invitations, outside the room. Choose an address without the patient's identifier.")
	}
	return nil
}

func patientIDInDisplayName() *Refusal {
	return forbidden(ReasonPatientID, "A display name cannot hold an NHS number: it is shown in every room you are in, in invitations and in the user directory. Choose a name without the patient's identifier.")
}
