package gatekeeper

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// appserviceRig is newRig whose upstream, like Dendrite, also accepts the
// appservice's token (as any user_id it is given, as if in its namespace).
func appserviceRig(t *testing.T) *rig {
	t.Helper()
	up := &upstream{rooms: rooms}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_matrix/client/v3/account/whoami" && r.Header.Get("Authorization") == "Bearer "+asToken {
			_, _ = w.Write([]byte(`{"user_id":"` + bot + `"}`))
			return
		}
		up.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	gkURL, m := startGatekeeper(t, srv.URL)
	return &rig{up: up, url: gkURL, metrics: m}
}

// TestClientUpgrade: a person's upgrade of a clinical room is refused
// before Dendrite sees it, telling them to ask the bot; the bot's own
// upgrade (the appservice's token, as the bot) passes, and so do upgrades
// of rooms that are not clinical, which the bot follows after the fact.
func TestClientUpgrade(t *testing.T) {
	const refused = "Upgrading a clinical room must keep Caldicott in it. Type `!policy upgrade` in the room and I will upgrade it for you, with its protections and members."
	asBot := []string{"Authorization", "Bearer " + asToken}
	tests := []struct {
		name, room, query string
		header            []string
		status            int
		err               string
	}{
		{"a person upgrades a clinical room", clinicalRoom, "", nil, 403, refused},
		{"the bot upgrades a clinical room", clinicalRoom, "", asBot, 200, ""},
		{"the bot, named, upgrades a clinical room", clinicalRoom, "?user_id=" + url.QueryEscape(bot), asBot, 200, ""},
		{"the appservice's token as another user", clinicalRoom, "?user_id=" + url.QueryEscape("@alice:trust-a.nhs.uk"), asBot, 403, refused},
		{"the bot named, then another user", clinicalRoom, "?user_id=" + url.QueryEscape(bot) + "&user_id=" + url.QueryEscape("@alice:trust-a.nhs.uk"), asBot, 403, refused},
		{"a person upgrades an operational room", opsRoom, "", nil, 200, ""},
		{"a person upgrades an unclassified room", plainRoom, "", nil, 200, ""},
		{"the room's class unreadable: fail closed", "!down:trust-a.nhs.uk", "", nil, 403, "could not check this room's policy"},
		{"the bot not in the room, the person reads it clinical", "!nobot:trust-a.nhs.uk", "", nil, 403, refused},
	}
	g := appserviceRig(t)
	for _, tt := range tests {
		for i, path := range spellings(tt.room, "/upgrade") {
			t.Run(fmt.Sprintf("%s/%d", tt.name, i), func(t *testing.T) {
				path += tt.query
				body := []byte(fmt.Sprintf(`{"new_version":"11","n":%d}`, i))
				a := g.do(t, http.MethodPost, path, body, tt.header...)
				g.expect(t, http.MethodPost, path, body, a, tt.status, tt.err)
				if a.Status == 403 && a.ErrCode != "M_FORBIDDEN" {
					t.Fatalf("errcode %s", a.ErrCode)
				}
			})
		}
	}
	if n := g.refusals(EndpointClientUpgrade, "upgrade_leaves_bot"); n != 4*5 {
		t.Errorf("upgrade_leaves_bot refusals counted %v, want 20", n)
	}
}

// Switched off by name, the judgement passes every upgrade on.
func TestClientUpgradeSwitchedOff(t *testing.T) {
	g := newRig(t, rooms, func(s *Settings) { s.Judges = func(e string) bool { return e != EndpointClientUpgrade } })
	path := "/_matrix/client/v3/rooms/" + clinicalRoom + "/upgrade"
	body := []byte(`{"new_version":"11"}`)
	g.expect(t, http.MethodPost, path, body, g.do(t, http.MethodPost, path, body), 200, "")
}
