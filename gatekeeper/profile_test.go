package gatekeeper

import (
	"net/url"
	"testing"
)

// A valid NHS number is refused in display names (the profile's, and one
// set in a room's membership event) and in room aliases, for anyone and in
// any room, as in rooms' names and topics; other names pass.
func TestNHSNumberInNamesShownOutsideRooms(t *testing.T) {
	g := newRig(t, rooms)
	alias := func(a string) string { return "/_matrix/client/v3/directory/room/" + url.PathEscape(a) }
	member := func(room string) string {
		return "/_matrix/client/v3/rooms/" + room + "/state/m.room.member/" + url.PathEscape("@alice:trust-a.nhs.uk")
	}
	tests := []struct {
		name, method, path, body string
		status                   int
		err                      string
	}{
		{"display name", "PUT", "/_matrix/client/v3/profile/@alice:trust-a.nhs.uk/displayname", `{"displayname":"Alice re 943 476 5919"}`, 403, "A display name cannot hold an NHS number"},
		{"display name, r0, key in another case", "PUT", "/_matrix/client/r0/profile/%40alice%3Atrust-a.nhs.uk/displayname", `{"DisplayName":"9434765919"}`, 403, "A display name cannot hold an NHS number"},
		{"display name without a number", "PUT", "/_matrix/client/v3/profile/@alice:trust-a.nhs.uk/displayname", `{"displayname":"Alice (bleep 4321)"}`, 200, ""},
		{"display name, invalid checksum", "PUT", "/_matrix/client/v3/profile/@alice:trust-a.nhs.uk/displayname", `{"displayname":"Alice 943 476 5910"}`, 200, ""},
		{"display name, not JSON", "PUT", "/_matrix/client/v3/profile/@alice:trust-a.nhs.uk/displayname", `{`, 400, "not valid JSON"},
		{"room display name in a social room", "PUT", member(socialRoom), `{"membership":"join","displayname":"Alice 943-476-5919"}`, 403, "A display name cannot hold an NHS number"},
		{"room display name in an unclassified room", "PUT", member(plainRoom), `{"membership":"join","displayname":"Alice 9434765919"}`, 403, "A display name cannot hold an NHS number"},
		{"room display name without a number", "PUT", member(plainRoom), `{"membership":"join","displayname":"Alice"}`, 200, ""},
		{"alias", "PUT", alias("#bed-9434765919:trust-a.nhs.uk"), `{"room_id":"` + plainRoom + `"}`, 403, "A room's address cannot hold an NHS number"},
		{"alias, spaced and r0", "PUT", "/_matrix/client/r0/directory/room/" + url.PathEscape("#943 476 5919:trust-a.nhs.uk"), `{"room_id":"` + socialRoom + `"}`, 403, "A room's address cannot hold an NHS number"},
		{"alias, underscored", "PUT", alias("#ward_9434765919:trust-a.nhs.uk"), `{"room_id":"` + plainRoom + `"}`, 403, "A room's address cannot hold an NHS number"},
		{"alias, grouped with underscores", "PUT", alias("#943_476_5919:trust-a.nhs.uk"), `{"room_id":"` + plainRoom + `"}`, 403, "A room's address cannot hold an NHS number"},
		{"alias, after a bed number", "PUT", alias("#bed4-9434765919:trust-a.nhs.uk"), `{"room_id":"` + plainRoom + `"}`, 403, "A room's address cannot hold an NHS number"},
		{"alias, between letters", "PUT", alias("#pt9434765919x:trust-a.nhs.uk"), `{"room_id":"` + plainRoom + `"}`, 403, "A room's address cannot hold an NHS number"},
		{"alias without a number", "PUT", alias("#ward7:trust-a.nhs.uk"), `{"room_id":"` + clinicalRoom + `"}`, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			a := g.do(t, tt.method, tt.path, body)
			g.expect(t, tt.method, tt.path, body, a, tt.status, tt.err)
		})
	}
	if n := g.refusals(EndpointClientProfile, ReasonPatientID); n != 2 {
		t.Errorf("client_profile patient_id refusals counted %v, want 2", n)
	}
	if n := g.refusals(EndpointClientAlias, ReasonPatientID); n != 6 {
		t.Errorf("client_alias patient_id refusals counted %v, want 6", n)
	}
}
