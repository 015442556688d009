package gatekeeper

import (
	"net/http"
	"net/url"
	"testing"
)

// A membership sent as an m.room.member state event is the invitation or
// the join the endpoints send (Dendrite accepts both): judged exactly as
// POST /invite and POST /join are, whatever the case of the key.
func TestMembershipSentAsStateIsJudged(t *testing.T) {
	g, _ := newJoinRig(t)
	tests := []struct {
		name, sender, room, stateKey, content string
		status                                int
		err                                   string
	}{
		{"join by someone suspended", "sam", wardRoom, "@sam:trust-a.nhs.uk", `{"membership":"join"}`, 403, "lists your account as suspended"},
		{"join, key in another case", "lee", wardRoom, "@lee:trust-a.nhs.uk", `{"Membership":"join"}`, 403, "you have left the trust"},
		{"join by a stranger", "zed", wardRoom, "@zed:trust-a.nhs.uk", `{"membership":"join","displayname":"Zed"}`, 403, "not in the staff directory of Trust A"},
		{"join by a nurse into a doctors' room", "bob", doctorsRoom, "@bob:trust-a.nhs.uk", `{"membership":"join"}`, 403, "This room is for doctor"},
		{"join by someone held", "hal", wardRoom, "@hal:trust-a.nhs.uk", `{"MEMBERSHIP":"join"}`, 403, "You are held out"},
		{"join by a colleague", "bob", wardRoom, "@bob:trust-a.nhs.uk", `{"membership":"join"}`, 200, ""},
		{"join by a stranger into a social room", "zed", teaRoom, "@zed:trust-a.nhs.uk", `{"membership":"join"}`, 200, ""},
		{"join, class unreadable", "zed", downRoom, "@zed:trust-a.nhs.uk", `{"membership":"join"}`, 403, "I could not check this room's policy"},
		{"invite of someone held", "alice", wardRoom, "@hal:trust-a.nhs.uk", `{"Membership":"invite"}`, 403, "You cannot invite @hal:trust-a.nhs.uk into this clinical room: they are held out"},
		{"invite of an outsider", "alice", wardRoom, "@x:matrix.org", `{"membership":"invite"}`, 403, "accounts on matrix.org are personal accounts"},
		{"invite of a nurse into a doctors' room", "alice", doctorsRoom, "@bob:trust-a.nhs.uk", `{"membership":"invite"}`, 403, "it is for doctor"},
		{"invite of a colleague", "alice", wardRoom, "@bob:trust-a.nhs.uk", `{"membership":"invite"}`, 200, ""},
		{"leave", "sam", wardRoom, "@sam:trust-a.nhs.uk", `{"membership":"leave"}`, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/_matrix/client/v3/rooms/" + tt.room + "/state/m.room.member/" + url.PathEscape(tt.stateKey)
			body := []byte(tt.content)
			a := g.do(t, http.MethodPut, path, body, "Authorization", "Bearer tok-"+tt.sender)
			g.expect(t, http.MethodPut, path, body, a, tt.status, tt.err)
		})
	}
}
