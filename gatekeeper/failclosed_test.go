package gatekeeper

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// What cannot be read for an otherwise eligible invitee or joiner (the
// inviter's credentials, the room's class or filters, its power levels)
// refuses where the room may be a clinical one with filters, and passes
// where it is known not to be one.
func TestFilterReadsFailClosedForClinicalRooms(t *testing.T) {
	g, _ := newJoinRig(t)
	tests := []struct {
		name, token, room, invitee string
		status                     int
		err                        string
	}{
		{"whoami fails, a nurse into a doctors' room", whoamiDown, doctorsRoom, "@bob:trust-a.nhs.uk", 403, "I could not check this room's policy"},
		{"whoami fails, a doctor into a doctors' room", whoamiDown, doctorsRoom, "@doc:trust-a.nhs.uk", 403, "I could not check this room's policy"},
		{"whoami fails, a nurse into a clinical room without filters", whoamiDown, wardRoom, "@bob:trust-a.nhs.uk", 200, ""},
		{"whoami fails, a nurse into a social room", whoamiDown, teaRoom, "@bob:trust-a.nhs.uk", 200, ""},
		{"whoami fails, a nurse into a room the bot is not in", whoamiDown, noBotRoom, "@bob:trust-a.nhs.uk", 200, ""},
		{"class unreadable, a colleague", "tok-alice", downRoom, "@bob:trust-a.nhs.uk", 403, "I could not check this room's policy"},
		{"power levels unreadable, a nurse outside the filters", "tok-alice", stalledRoom, "@bob:trust-a.nhs.uk", 403, "I could not check this room's policy"},
		{"power levels unreadable, a doctor inside them", "tok-alice", stalledRoom, "@doc:trust-a.nhs.uk", 200, ""},
		{"a colleague into a social room", "tok-alice", teaRoom, "@bob:trust-a.nhs.uk", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/_matrix/client/v3/rooms/" + tt.room + "/invite"
			body := []byte(fmt.Sprintf(`{"user_id":%q}`, tt.invitee))
			a := g.do(t, http.MethodPost, path, body, "Authorization", "Bearer "+tt.token)
			g.expect(t, http.MethodPost, path, body, a, tt.status, tt.err)
		})
	}
	// Joins: the joiner's own facts pass, the room's filters or power
	// levels cannot be read.
	for _, tt := range []struct {
		name, joiner, room string
		status             int
	}{
		{"a nurse joins, power levels unreadable", "bob", stalledRoom, 403},
		{"a colleague joins, class unreadable", "bob", downRoom, 403},
		{"a colleague joins a social room", "bob", teaRoom, 200},
		{"whoami fails, a join into a clinical room", whoamiDown, wardRoom, 403},
		{"whoami fails, a join into a social room", whoamiDown, teaRoom, 200},
		{"whoami fails, a join into a room the bot is not in", whoamiDown, noBotRoom, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := "/_matrix/client/v3/rooms/" + url.PathEscape(tt.room) + "/join"
			token := "tok-" + tt.joiner
			if tt.joiner == whoamiDown {
				token = whoamiDown
			}
			a := g.do(t, http.MethodPost, path, []byte(`{}`), "Authorization", "Bearer "+token)
			g.expect(t, http.MethodPost, path, []byte(`{}`), a, tt.status, "I could not check this room's policy")
		})
	}
}

// A join by alias is forwarded for the room the gatekeeper judged, as
// /join/{roomID} with the query (server_name, via) and body it came with,
// so Dendrite cannot resolve the alias to another room.
func TestAliasJoinForwardsTheJudgedRoom(t *testing.T) {
	g, _ := newJoinRig(t)
	for _, version := range []string{"v3", "r0"} {
		path := "/_matrix/client/" + version + "/join/" + url.PathEscape("#ward:trust-a.nhs.uk") + "?server_name=trust-b.nhs.uk&via=trust-a.nhs.uk"
		body := []byte(`{"reason":"ward round ` + version + `"}`)
		a := g.do(t, http.MethodPost, path, body, "Authorization", "Bearer tok-bob")
		if a.Status != 200 {
			t.Fatalf("%s: %d %s", path, a.Status, a.Error)
		}
		want := "/_matrix/client/" + version + "/join/" + url.PathEscape(wardRoom) + "?server_name=trust-b.nhs.uk&via=trust-a.nhs.uk"
		var seen *seenRequest
		for _, s := range g.up.requests() {
			if string(s.Body) == string(body) {
				seen = &s
			}
		}
		if seen == nil || seen.RequestURI != want {
			t.Fatalf("upstream saw %+v; want %s with the body", seen, want)
		}
	}
	// No servers named: those of the directory's answer, as Dendrite would
	// have joined through them resolving the alias itself (a room on
	// another server cannot be joined by its ID alone); servers named by
	// via alone are kept as they are.
	for query, want := range map[string]string{
		"":                    "?server_name=trust-b.nhs.uk&server_name=trust-c.nhs.uk",
		"?via=trust-d.nhs.uk": "?via=trust-d.nhs.uk",
	} {
		path := "/_matrix/client/v3/join/" + url.PathEscape("#ward:trust-a.nhs.uk") + query
		body := []byte(`{"reason":"servers ` + query + `"}`)
		if a := g.do(t, http.MethodPost, path, body, "Authorization", "Bearer tok-bob"); a.Status != 200 {
			t.Fatalf("%s: %d %s", path, a.Status, a.Error)
		}
		var seen *seenRequest
		for _, s := range g.up.requests() {
			if string(s.Body) == string(body) {
				seen = &s
			}
		}
		if want = "/_matrix/client/v3/join/" + url.PathEscape(wardRoom) + want; seen == nil || seen.RequestURI != want {
			t.Fatalf("upstream saw %+v; want %s", seen, want)
		}
	}
	// Unknown credentials: passed as they came, for Dendrite to refuse.
	path := "/_matrix/client/v3/join/" + url.PathEscape("#ward:trust-a.nhs.uk")
	a := g.do(t, http.MethodPost, path, []byte(`{}`), "Authorization", "Bearer unknown")
	g.expect(t, http.MethodPost, path, []byte(`{}`), a, 200, "")
}
