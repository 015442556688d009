package gatekeeper

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
)

// An identity server's callback completing e-mail invitations, and an
// e-mail invitation written as state, are refused where they reach a
// clinical room (as e-mail invites are); elsewhere they pass. The client
// API serves no such callback: a client path of that name is Dendrite's
// to answer (it has none), untouched.
func TestThirdPartyInvitesIntoClinicalRooms(t *testing.T) {
	g := newRig(t, rooms)
	onbind := func(rooms ...string) string {
		invites := ""
		for i, r := range rooms {
			if i > 0 {
				invites += ","
			}
			invites += fmt.Sprintf(`{"mxid":"@bob:trust-a.nhs.uk","room_id":%q,"sender":"@alice:trust-a.nhs.uk","token":"t%d","signed":{}}`, r, i)
		}
		return `{"medium":"email","address":"bob@example.org","mxid":"@bob:trust-a.nhs.uk","invites":[` + invites + `]}`
	}
	const path = "/_matrix/federation/v1/3pid/onbind"
	tests := []struct {
		name, method, path, body string
		status                   int
		err                      string
	}{
		{"onbind into a clinical room", "POST", path, onbind(socialRoom, clinicalRoom), 403, "Invitations by e-mail address cannot be sent into a clinical room"},
		{"onbind, a room's class unreadable", "POST", path, onbind("!down:trust-a.nhs.uk"), 403, "I could not check this room's policy"},
		{"onbind into a social and an unclassified room", "POST", path, onbind(socialRoom, plainRoom), 200, ""},
		{"onbind into a room the bot is not in", "POST", path, onbind("!nobot:trust-a.nhs.uk"), 200, ""},
		{"onbind, not JSON", "POST", path, `{`, 400, "not valid JSON"},
		{"onbind into 51 rooms", "POST", path, onbind(manyRooms(51)...), 400, "more than 50 rooms"},
		{"onbind into 50 rooms", "POST", path, onbind(manyRooms(50)...), 200, ""},
		{"onbind into one room listed 200 times", "POST", path, onbind(slices.Repeat([]string{socialRoom}, 200)...), 200, ""},
		{"onbind into a clinical room listed after many times another", "POST", path, onbind(append(slices.Repeat([]string{socialRoom}, 200), clinicalRoom)...), 403, "Invitations by e-mail address cannot be sent into a clinical room"},
		{"third-party invite as state in a clinical room", "PUT", "/_matrix/client/v3/rooms/" + url.PathEscape(clinicalRoom) + "/state/m.room.third_party_invite/tok1", `{"display_name":"b...@example.org","public_key":"abc","key_validity_url":"https://id.example.org/check"}`, 403, "Invitations by e-mail address cannot be sent into a clinical room"},
		{"third-party invite as state in a social room", "PUT", "/_matrix/client/v3/rooms/" + url.PathEscape(socialRoom) + "/state/m.room.third_party_invite/tok1", `{"display_name":"b...@example.org"}`, 200, ""},
		{"no onbind on the client API", "POST", "/_matrix/client/v3/3pid/onbind", onbind(clinicalRoom), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			auth := "" // an identity server sends no credentials
			if tt.method == "PUT" {
				auth = "Bearer alice-token"
			}
			a := g.do(t, tt.method, tt.path, body, "Authorization", auth)
			g.expect(t, tt.method, tt.path, body, a, tt.status, tt.err)
		})
	}
	if n := g.refusals(EndpointIdentityOnbind, ReasonThirdPartyInvite); n != 2 {
		t.Errorf("identity_onbind refusals counted %v, want 2", n)
	}
}

// manyRooms names n rooms the bot is not in (the fake Dendrite knows none
// of them: no policy).
func manyRooms(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("!room%d:trust-a.nhs.uk", i)
	}
	return out
}
