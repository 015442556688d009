package gatekeeper

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
)

const (
	clinicalRoom = "!ward7:trust-a.nhs.uk"
	socialRoom   = "!tea:trust-a.nhs.uk"
	opsRoom      = "!rota:trust-a.nhs.uk"
	plainRoom    = "!chat:trust-a.nhs.uk"
)

var rooms = map[string]string{
	clinicalRoom: "clinical", socialRoom: "social", opsRoom: "operational", plainRoom: roomNoPolicy,
	"!down:trust-a.nhs.uk": roomDown, "!nobot:trust-a.nhs.uk": roomNoBot, "!hidden:trust-a.nhs.uk": roomHidden,
}

// spellings are the ways a client may write one room path: both API
// versions, a trailing slash, the room ID percent-encoded.
func spellings(roomID, rest string) []string {
	enc := strings.NewReplacer("!", "%21", ":", "%3A").Replace(roomID)
	return []string{
		"/_matrix/client/v3/rooms/" + roomID + rest,
		"/_matrix/client/r0/rooms/" + roomID + rest,
		"/_matrix/client/v3/rooms/" + roomID + rest + "/",
		"/_matrix/client/v3/rooms/" + enc + rest,
		"/_matrix/client/r0/rooms/" + enc + rest + "/",
	}
}

func TestClientInvite(t *testing.T) {
	tests := []struct {
		name, room, invitee string
		status              int
		err                 string
	}{
		{"outsider into clinical", clinicalRoom, "@alice:matrix.org", 403, "accounts on matrix.org are personal accounts"},
		{"puppet into clinical", clinicalRoom, "@whatsapp_447700900123:trust-a.nhs.uk", 403, "bridged account"},
		{"colleague into clinical", clinicalRoom, "@bob:trust-a.nhs.uk", 200, ""},
		{"other trust into clinical", clinicalRoom, "@carol:trust-b.nhs.uk", 200, ""},
		{"other trust with port into clinical", clinicalRoom, "@dan:127.0.0.12:8448", 200, ""},
		{"outsider into social", socialRoom, "@alice:matrix.org", 200, ""},
		{"outsider into unclassified", plainRoom, "@alice:matrix.org", 200, ""},
		{"outsider, room state unreadable: fail closed", "!down:trust-a.nhs.uk", "@alice:matrix.org", 403, "could not check this room's policy"},
		{"outsider, room hidden from bot and user: fail closed", "!hidden:trust-a.nhs.uk", "@alice:matrix.org", 403, "could not check"},
		{"outsider, bot not in room, the inviter reads it clinical", "!nobot:trust-a.nhs.uk", "@alice:matrix.org", 403, "personal accounts"},
		{"colleague, room state unreadable: not needed", "!down:trust-a.nhs.uk", "@bob:trust-a.nhs.uk", 200, ""},
	}
	g := newRig(t, rooms)
	for _, tt := range tests {
		for i, path := range spellings(tt.room, "/invite") {
			t.Run(fmt.Sprintf("%s/%d", tt.name, i), func(t *testing.T) {
				body := []byte(fmt.Sprintf(`{"user_id":%q,"reason":"ward round %d"}`, tt.invitee, i))
				a := g.do(t, http.MethodPost, path, body)
				g.expect(t, http.MethodPost, path, body, a, tt.status, tt.err)
				if a.Status == 403 && a.ErrCode != "M_FORBIDDEN" {
					t.Fatalf("errcode %s", a.ErrCode)
				}
			})
		}
	}
	if n := g.refusals(EndpointClientInvite, "outside_server"); n != 5+5 { // clinical + the inviter's read
		t.Errorf("outside_server refusals counted %v, want 10", n)
	}
	if n := g.refusals(EndpointClientInvite, ReasonStateUnknown); n != 10 {
		t.Errorf("room_state_unavailable refusals counted %v, want 10", n)
	}
}

func TestRoomClassIsRememberedAndForgotten(t *testing.T) {
	g := newRig(t, rooms)
	body := []byte(`{"user_id":"@alice:matrix.org"}`)
	for range 3 {
		g.do(t, http.MethodPost, "/_matrix/client/v3/rooms/"+clinicalRoom+"/invite", body)
	}
	if n := g.up.stateReads(); n != 1 {
		t.Fatalf("the class was read %d times for three invites; want once", n)
	}
	// A policy change makes the next judgement read the class afresh.
	g.do(t, http.MethodPut, "/_matrix/client/v3/rooms/"+clinicalRoom+"/state/org.caldicott.policy/", []byte(`{"class":"clinical"}`))
	g.do(t, http.MethodPost, "/_matrix/client/v3/rooms/"+clinicalRoom+"/invite", body)
	if n := g.up.stateReads(); n != 2 {
		t.Fatalf("class read %d times after the policy changed; want 2", n)
	}
}

// A room the bot classifies (on Dendrite, not through the gatekeeper)
// counts at once: "not clinical" is never remembered, so an NHS number in
// a room just made social, or an outsider's invite into a room just made
// clinical, is refused from the first request after.
func TestNewClassCountsAtOnce(t *testing.T) {
	g := newRig(t, maps.Clone(rooms))
	msg := []byte(`{"msgtype":"m.text","body":"Mrs Jones 943 476 5919"}`)
	path := func(n int) string {
		return fmt.Sprintf("/_matrix/client/v3/rooms/%s/send/m.room.message/t%d", plainRoom, n)
	}
	if a := g.do(t, http.MethodPut, path(1), msg); a.Status != http.StatusOK {
		t.Fatalf("a message in an unclassified room: %d %s", a.Status, a.Error)
	}
	g.up.setRoom(plainRoom, "social")
	if a := g.do(t, http.MethodPut, path(2), msg); a.Status != http.StatusForbidden {
		t.Fatalf("an NHS number in a room just made social: %d; want 403 at once", a.Status)
	}
	invite := []byte(`{"user_id":"@alice:matrix.org"}`)
	g.up.setRoom(plainRoom, "clinical")
	if a := g.do(t, http.MethodPost, "/_matrix/client/v3/rooms/"+plainRoom+"/invite", invite); a.Status != http.StatusForbidden {
		t.Fatalf("an outsider invited into a room just made clinical: %d; want 403 at once", a.Status)
	}
}

func TestClientCreateRoom(t *testing.T) {
	clinical := `{"type":"org.caldicott.policy","state_key":"","content":{"class":"clinical"}}`
	encrypted := `{"type":"m.room.encryption","state_key":"","content":{"algorithm":"m.megolm.v1.aes-sha2"}}`
	// Dendrite's private_chat preset lets guests join: a clinical room says no.
	encrypted += `,{"type":"m.room.guest_access","state_key":"","content":{"guest_access":"forbidden"}}`
	bare := `{"type":"m.room.encryption","state_key":"","content":{"algorithm":"m.megolm.v1.aes-sha2"}}`
	tests := []struct {
		name, body string
		status     int
		err        string
	}{
		{"plain room", `{"name":"Tea club","preset":"public_chat","invite":["@x:matrix.org"]}`, 200, ""},
		{"clinical, protected", `{"preset":"private_chat","invite":["@bob:trust-b.nhs.uk"],"initial_state":[` + clinical + `,` + encrypted + `]}`, 200, ""},
		{"clinical, invites an outsider", `{"preset":"private_chat","invite":["@x:matrix.org"],"initial_state":[` + clinical + `,` + encrypted + `]}`, 403, "You cannot invite @x:matrix.org"},
		{"clinical, invites an outsider in its initial state", `{"preset":"private_chat","initial_state":[` + clinical + `,` + encrypted + `,{"type":"m.room.member","state_key":"@x:matrix.org","content":{"membership":"invite"}}]}`, 403, "You cannot invite @x:matrix.org"},
		{"clinical, unencrypted", `{"preset":"private_chat","initial_state":[` + clinical + `]}`, 403, "end-to-end encryption must stay on"},
		{"clinical, public", `{"preset":"public_chat","initial_state":[` + clinical + `,` + encrypted + `]}`, 403, "the public_chat preset makes it public"},
		{"clinical, private_chat lets guests join", `{"preset":"private_chat","initial_state":[` + clinical + `,` + bare + `]}`, 403, "the private_chat preset makes it can_join"},
		{"clinical, trusted_private_chat lets guests join", `{"preset":"trusted_private_chat","initial_state":[` + clinical + `,` + bare + `]}`, 403, "the trusted_private_chat preset makes it can_join"},
		{"clinical, no preset", `{"initial_state":[` + clinical + `,` + bare + `]}`, 200, ""},
		{"clinical, override lowers the bot", `{"initial_state":[` + clinical + `,` + bare + `],"power_level_content_override":{"users":{"@caldicott:trust-a.nhs.uk":50}}}`, 403, "must keep power level 100 (this change would leave it at 50)"},
		{"clinical, override raises a member above the bot", `{"initial_state":[` + clinical + `,` + bare + `],"power_level_content_override":{"Users":{"@alice:trust-a.nhs.uk":9000}}}`, 403, "nobody may have a power level above 100"},
		{"clinical, override puts encryption out of the bot's reach", `{"initial_state":[` + clinical + `,` + bare + `],"power_level_content_override":{"events":{"m.room.encryption":101}}}`, 403, "changing m.room.encryption must need power level 100 at most"},
		{"clinical, override keeps the bot and the hardening", `{"initial_state":[` + clinical + `,` + bare + `],"power_level_content_override":{"users":{"@caldicott:trust-a.nhs.uk":100,"@alice:trust-a.nhs.uk":100},"invite":0}}`, 200, ""},
		{"clinical, override of the wrong shape", `{"initial_state":[` + clinical + `,` + bare + `],"power_level_content_override":[1]}`, 400, "does not have the fields"},
		{"social, override lowers the bot", `{"initial_state":[{"type":"org.caldicott.policy","content":{"class":"social"}}],"power_level_content_override":{"users":{"@caldicott:trust-a.nhs.uk":0}}}`, 200, ""},
		{"clinical, in the directory", `{"visibility":"public","initial_state":[` + clinical + `,` + encrypted + `]}`, 403, "public room directory"},
		{"NHS number in the name", `{"name":"Bed 4 943 476 5919"}`, 403, "cannot hold an NHS number"},
		{"NHS number in the topic state", `{"initial_state":[{"type":"m.room.topic","content":{"topic":"re 9434765919"}}]}`, 403, "cannot hold an NHS number"},
		{"a number that is not an NHS number", `{"name":"Bed 4 943 476 5918"}`, 200, ""},
		{"NHS number in the alias", `{"room_alias_name":"bed-four-9434765919"}`, 403, "cannot hold an NHS number"},
		{"clinical, an e-mail invitation in its initial state", `{"preset":"private_chat","initial_state":[` + clinical + `,` + encrypted + `,{"type":"m.room.third_party_invite","state_key":"tok1","content":{"display_name":"b...@example.org","public_key":"abc"}}]}`, 403, "Invitations by e-mail address cannot be sent into a clinical room"},
		{"social, an e-mail invitation in its initial state", `{"initial_state":[{"type":"org.caldicott.policy","content":{"class":"social"}},{"type":"m.room.third_party_invite","state_key":"tok1","content":{"display_name":"b...@example.org"}}]}`, 200, ""},
		{"NHS number in the alias, underscored", `{"room_alias_name":"ward_9434765919"}`, 403, "cannot hold an NHS number"},
		{"NHS number in the alias, between letters", `{"room_alias_name":"pt9434765919x"}`, 403, "cannot hold an NHS number"},
		{"NHS number in the alias, grouped with dots", `{"room_alias_name":"943.476.5919"}`, 403, "cannot hold an NHS number"},
	}
	g := newRig(t, rooms)
	for _, tt := range tests {
		for _, path := range []string{"/_matrix/client/v3/createRoom", "/_matrix/client/r0/createRoom", "/_matrix/client/v3/createRoom/"} {
			t.Run(tt.name+path, func(t *testing.T) {
				a := g.do(t, http.MethodPost, path, []byte(tt.body))
				g.expect(t, http.MethodPost, path, []byte(tt.body), a, tt.status, tt.err)
			})
		}
	}
}

func TestClientState(t *testing.T) {
	tests := []struct {
		name, room, rest, body string
		status                 int
		err                    string
	}{
		{"clinical made public", clinicalRoom, "/state/m.room.join_rules", `{"join_rule":"public"}`, 403, "join rule must stay invite only"},
		{"clinical made public, empty key", clinicalRoom, "/state/m.room.join_rules/", `{"join_rule":"public"}`, 403, "join rule must stay invite only"},
		{"clinical kept invite", clinicalRoom, "/state/m.room.join_rules", `{"join_rule":"invite"}`, 200, ""},
		{"clinical guests let in", clinicalRoom, "/state/m.room.guest_access", `{"guest_access":"can_join"}`, 403, "guest access"},
		{"clinical history opened", clinicalRoom, "/state/m.room.history_visibility", `{"history_visibility":"shared"}`, 403, "history visibility"},
		{"clinical ACL opened", clinicalRoom, "/state/m.room.server_acl", `{"allow":["*"]}`, 403, "server access list"},
		{"clinical bot demoted", clinicalRoom, "/state/m.room.power_levels", `{"users":{"@caldicott:trust-a.nhs.uk":0}}`, 403, "must keep power level 100"},
		{"clinical bot kept", clinicalRoom, "/state/m.room.power_levels", `{"users":{"@caldicott:trust-a.nhs.uk":100,"@bob:trust-a.nhs.uk":50}}`, 200, ""},
		{"clinical power levels with a folded duplicate", clinicalRoom, "/state/m.room.power_levels", `{"users":{"@caldicott:trust-a.nhs.uk":100},"Users":{"@caldicott:trust-a.nhs.uk":0}}`, 400, "same field twice"},
		{"clinical invite as a member event", clinicalRoom, "/state/m.room.member/@x:matrix.org", `{"membership":"invite"}`, 403, "personal accounts"},
		{"clinical invite as a member event, key capitalised", clinicalRoom, "/state/m.room.member/@x:matrix.org", `{"Membership":"invite"}`, 403, "personal accounts"},
		{"social made public", socialRoom, "/state/m.room.join_rules", `{"join_rule":"public"}`, 200, ""},
		{"unreadable room made public: fail closed", "!down:trust-a.nhs.uk", "/state/m.room.join_rules", `{"join_rule":"public"}`, 403, "could not check"},
		{"NHS number in a social room's name", socialRoom, "/state/m.room.name", `{"name":"Mr Smith 943 476 5919"}`, 403, "cannot hold an NHS number"},
		{"NHS number in a clinical room's topic", clinicalRoom, "/state/m.room.topic", `{"topic":"943-476-5919"}`, 403, "cannot hold an NHS number"},
		{"a topic without one", clinicalRoom, "/state/m.room.topic", `{"topic":"Ward 7 handover"}`, 200, ""},
	}
	g := newRig(t, rooms)
	for _, tt := range tests {
		for i, path := range spellings(tt.room, tt.rest) {
			if strings.HasSuffix(tt.rest, "/") && strings.HasSuffix(path, "//") {
				continue
			}
			t.Run(fmt.Sprintf("%s/%d", tt.name, i), func(t *testing.T) {
				a := g.do(t, http.MethodPut, path, []byte(tt.body))
				g.expect(t, http.MethodPut, path, []byte(tt.body), a, tt.status, tt.err)
			})
		}
	}
}

func TestClientMessage(t *testing.T) {
	withNumber := `{"msgtype":"m.text","body":"Please see 943 476 5919 today"}`
	inHTML := `{"msgtype":"m.text","body":"see below","formatted_body":"<b>9434765919</b>"}`
	without := `{"msgtype":"m.text","body":"Tea at 4?"}`
	tests := []struct {
		name, room, eventType, body string
		status                      int
		err                         string
	}{
		{"number in a social room", socialRoom, "m.room.message", withNumber, 403, "this is a social room"},
		{"number in HTML in an operational room", opsRoom, "m.room.message", inHTML, 403, "operational room"},
		{"number in a clinical room", clinicalRoom, "m.room.message", withNumber, 200, ""},
		{"number in an unclassified room", plainRoom, "m.room.message", withNumber, 200, ""},
		{"no number in a social room", socialRoom, "m.room.message", without, 200, ""},
		{"number, room unreadable: fail closed", "!down:trust-a.nhs.uk", "m.room.message", withNumber, 403, "could not check"},
		{"encrypted: not read", socialRoom, "m.room.encrypted", `{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"943 476 5919"}`, 200, ""},
		{"number in a reaction", socialRoom, "m.reaction", `{"m.relates_to":{"key":"943 476 5919"}}`, 403, "social room"},
	}
	g := newRig(t, rooms)
	for _, tt := range tests {
		for i, path := range spellings(tt.room, "/send/"+tt.eventType+"/txn"+fmt.Sprint(len(tt.name))) {
			t.Run(fmt.Sprintf("%s/%d", tt.name, i), func(t *testing.T) {
				a := g.do(t, http.MethodPut, path, []byte(tt.body))
				g.expect(t, http.MethodPut, path, []byte(tt.body), a, tt.status, tt.err)
			})
		}
	}
	if n := g.refusals(EndpointClientMessage, ReasonPatientID); n != 15 {
		t.Errorf("patient_id refusals counted %v, want 15", n)
	}
}

// Nothing about a room is told to whoever Dendrite would not serve: a
// request without credentials Dendrite accepts is passed on undecided (and
// refused there), whatever the room's class.
func TestUnauthenticatedRequestsLearnNothing(t *testing.T) {
	g := newRig(t, rooms)
	for _, token := range []string{"", "Bearer stolen-or-made-up"} {
		for _, room := range []string{clinicalRoom, socialRoom} {
			path := "/_matrix/client/v3/rooms/" + room + "/invite"
			body := []byte(fmt.Sprintf(`{"user_id":"@x:matrix.org","t":%q}`, token))
			a := g.do(t, http.MethodPost, path, body, "Authorization", token)
			g.expect(t, http.MethodPost, path, body, a, 200, "")
		}
	}
	if n := g.up.stateReads(); n != 0 {
		t.Errorf("%d room-state reads for unauthenticated requests; want none", n)
	}
}

// A third-party (e-mail) invite into a clinical room is refused: the
// identity server, not the body, decides who is invited. Elsewhere it
// passes.
func TestThirdPartyInviteIntoClinicalRoom(t *testing.T) {
	g := newRig(t, rooms)
	for _, body := range []string{
		`{"id_server":"vector.im","medium":"email","address":"m@evil.example"}`,
		`{"user_id":"@alice:trust-a.nhs.uk","id_server":"vector.im","medium":"email","address":"m@evil.example"}`,
		`{"ID_Server":"vector.im","Medium":"email","Address":"m@evil.example"}`,
	} {
		a := g.do(t, http.MethodPost, "/_matrix/client/v3/rooms/"+clinicalRoom+"/invite", []byte(body))
		if a.Status != http.StatusForbidden || !strings.Contains(a.Error, "by e-mail address") {
			t.Errorf("%s into a clinical room: %d %s; want 403", body, a.Status, a.Body)
		}
		if a := g.do(t, http.MethodPost, "/_matrix/client/v3/rooms/"+socialRoom+"/invite", []byte(body)); a.Status != http.StatusOK {
			t.Errorf("%s into a social room: %d; want it passed", body, a.Status)
		}
	}
}

// A Connection header naming Authorization: the proxy would drop the
// junk header on the way, so Dendrite would serve the request as the
// query token's owner; the gatekeeper must judge it as that owner too.
func TestConnectionHeaderCannotHideCredentials(t *testing.T) {
	g := newRig(t, rooms)
	msg := []byte(`{"msgtype":"m.text","body":"Mrs Jones 943 476 5919"}`)
	path := "/_matrix/client/v3/rooms/" + socialRoom + "/send/m.room.message/t1?access_token=alice-token"
	a := g.do(t, http.MethodPut, path, msg, "Authorization", "Bearer junk", "Connection", "Authorization")
	if a.Status != http.StatusForbidden {
		t.Fatalf("an NHS number in a social room, the header token hidden by Connection: %d %s; want 403", a.Status, a.Body)
	}
}

// A room ID taken from a request's path is logged only when shaped like one
// and holding no NHS number: the client wrote it.
func TestLoggableRoom(t *testing.T) {
	for in, want := range map[string]string{
		"!abcDEF123:trust-a.nhs.uk":     "!abcDEF123:trust-a.nhs.uk",
		"!room:127.0.0.11:8448":         "!room:127.0.0.11:8448",
		"!Mrs Jones 9434765919:trust-a": "(not a room ID)",
		"!9434765919:trust-a.nhs.uk":    "(not a room ID)",
		"#alias:trust-a.nhs.uk":         "(not a room ID)",
		"":                              "(not a room ID)",
	} {
		if got := loggableRoom(in); got != want {
			t.Errorf("loggableRoom(%q) = %q; want %q", in, got, want)
		}
	}
}

// A clinical room is created, classified or kept only in a room version
// the bot can guard, without additional creators: from version 12 the
// creators outrank every power level, the bot's included.
func TestClinicalRoomVersion(t *testing.T) {
	clinical := `{"type":"org.caldicott.policy","state_key":"","content":{"class":"clinical"}}`
	bare := `{"type":"m.room.encryption","state_key":"","content":{"algorithm":"m.megolm.v1.aes-sha2"}}`
	initial := `"initial_state":[` + clinical + `,` + bare + `]`
	tests := []struct {
		name, method, path, body string
		status                   int
		err                      string
	}{
		{"create clinical, version 11", http.MethodPost, "/_matrix/client/v3/createRoom", `{"room_version":"11",` + initial + `}`, 200, ""},
		{"create clinical, the default version", http.MethodPost, "/_matrix/client/v3/createRoom", `{` + initial + `}`, 200, ""},
		{"create clinical, version 12", http.MethodPost, "/_matrix/client/v3/createRoom", `{"room_version":"12",` + initial + `}`, 403, "in version 12 the room's creators stand above every power level"},
		{"create clinical, key capitalised", http.MethodPost, "/_matrix/client/v3/createRoom", `{"Room_Version":"12",` + initial + `}`, 403, "in version 12"},
		{"create clinical, additional creators", http.MethodPost, "/_matrix/client/v3/createRoom", `{"creation_content":{"additional_creators":["@mallory:trust-a.nhs.uk"]},` + initial + `}`, 403, "cannot name additional creators"},
		{"create social, version 12", http.MethodPost, "/_matrix/client/v3/createRoom", `{"room_version":"12","initial_state":[{"type":"org.caldicott.policy","content":{"class":"social"}}]}`, 200, ""},
		{"classify a version 12 room clinical", http.MethodPut, "/_matrix/client/v3/rooms/" + v12Room + "/state/org.caldicott.policy", `{"class":"clinical"}`, 403, "in version 12"},
		{"classify a co-created room clinical", http.MethodPut, "/_matrix/client/v3/rooms/" + coCreatedRoom + "/state/org.caldicott.policy", `{"class":"clinical"}`, 403, "cannot name additional creators"},
		{"classify a version 12 room social", http.MethodPut, "/_matrix/client/v3/rooms/" + v12Room + "/state/org.caldicott.policy", `{"class":"social"}`, 200, ""},
		{"classify a version 10 room clinical", http.MethodPut, "/_matrix/client/v3/rooms/" + socialRoom + "/state/org.caldicott.policy", `{"class":"clinical"}`, 200, ""},
	}
	g := newRig(t, maps.Clone(rooms))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := g.do(t, tt.method, tt.path, []byte(tt.body))
			g.expect(t, tt.method, tt.path, []byte(tt.body), a, tt.status, tt.err)
		})
	}
}
