package gatekeeper

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/store"
)

// Rooms of the join tests, with their policy as the fake Dendrite holds it.
const (
	wardRoom    = "!ward:trust-a.nhs.uk"    // clinical, no filters
	doctorsRoom = "!doctors:trust-a.nhs.uk" // clinical, for doctors; set by the bot for @ada
	foreignRoom = "!shared:trust-b.nhs.uk"  // clinical, created by trust B
	teaRoom     = "!tearoom:trust-a.nhs.uk" // social
	noBotRoom   = "!nobot:trust-a.nhs.uk"   // the bot is not in it
	downRoom    = "!down:trust-a.nhs.uk"    // Dendrite fails to read it
	// clinical, for doctors, its whole state unreadable
	stalledRoom = "!stalled:trust-a.nhs.uk"
)

// whoamiDown is a token Dendrite fails to check (500 on whoami).
const whoamiDown = "whoami-down"

// roomsUpstream stands in for Dendrite with what joins and policy edits
// need besides the recording upstream: tokens of several users, policy
// events with filters, whole room states and room aliases.
type roomsUpstream struct {
	*upstream
	policies map[string]string // room → policy content (JSON)
	states   map[string]string // room → whole state (JSON)
	aliases  map[string]string // alias → room, or "down"
}

var fullState = regexp.MustCompile(`^/_matrix/client/v3/rooms/([^/]+)/state$`)

func (u *roomsUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	asBot := r.Header.Get("Authorization") == "Bearer "+asToken && r.URL.Query().Get("user_id") == bot
	switch {
	case p == "/_matrix/client/v3/account/whoami" && r.Header.Get("Authorization") == "Bearer "+whoamiDown:
		http.Error(w, `{"errcode":"M_UNKNOWN"}`, http.StatusInternalServerError)
	case p == "/_matrix/client/v3/account/whoami" && asBot:
		_, _ = fmt.Fprintf(w, `{"user_id":%q}`, bot)
	case p == "/_matrix/client/v3/account/whoami" && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok-"):
		_, _ = fmt.Fprintf(w, `{"user_id":"@%s:trust-a.nhs.uk"}`, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer tok-"))
	case strings.HasPrefix(p, "/_matrix/client/v3/directory/room/"):
		alias, _ := url.PathUnescape(strings.TrimPrefix(p, "/_matrix/client/v3/directory/room/"))
		switch room, ok := u.aliases[alias]; {
		case !ok:
			http.Error(w, `{"errcode":"M_NOT_FOUND"}`, http.StatusNotFound)
		case room == "down":
			http.Error(w, `{"errcode":"M_UNKNOWN"}`, http.StatusBadGateway)
		default:
			_, _ = fmt.Fprintf(w, `{"room_id":%q,"servers":["trust-b.nhs.uk","trust-c.nhs.uk"]}`, room)
		}
	case r.Method == http.MethodGet && policyRead.MatchString(p) && u.policies[unescaped(policyRead.FindStringSubmatch(p)[1])] != "":
		_, _ = w.Write([]byte(u.policies[unescaped(policyRead.FindStringSubmatch(p)[1])]))
	case fullState.MatchString(p) && r.Method == http.MethodGet:
		state, ok := u.states[unescaped(fullState.FindStringSubmatch(p)[1])]
		if !ok || !asBot {
			http.Error(w, `{"errcode":"M_FORBIDDEN"}`, http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte(state))
	default:
		u.upstream.ServeHTTP(w, r)
	}
}

func unescaped(s string) string {
	v, _ := url.PathUnescape(s)
	return v
}

// roomState is a whole room state: created by creator, power levels
// levels (JSON), policy content policy sent by sender.
func roomState(creator, levels, sender, policy string) string {
	return fmt.Sprintf(`[{"type":"m.room.create","state_key":"","sender":%q,"content":{"room_version":"10"}},
		{"type":"m.room.power_levels","state_key":"","sender":%q,"content":%s},
		{"type":"org.caldicott.policy","state_key":"","sender":%q,"content":%s},
		{"type":"m.room.member","state_key":%q,"sender":%q,"content":{"membership":"join"}}]`,
		creator, creator, levels, sender, policy, creator, creator)
}

// newJoinRig is a gatekeeper, with a real store as directory and media
// index, in front of the fake Dendrite above.
func newJoinRig(t *testing.T) (*rig, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "caldicott.db"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: "@alice:trust-a.nhs.uk", Name: "Alice", Role: "doctor", Status: "active", Source: "csv"},
		{UserID: "@bob:trust-a.nhs.uk", Name: "Bob", Role: "nurse", Status: "active", Source: "csv"},
		{UserID: "@doc:trust-a.nhs.uk", Name: "Doc", Role: "Doctor", Status: "active", Source: "csv"},
		{UserID: "@boss:trust-a.nhs.uk", Name: "Boss", Role: "nurse", Status: "active", Source: "csv"},
		{UserID: "@hal:trust-a.nhs.uk", Name: "Hal", Role: "doctor", Status: "active", Source: "csv"},
		{UserID: "@ig:trust-a.nhs.uk", Name: "Ig", Role: "ig", Status: "active", Source: "csv"},
		{UserID: "@sam:trust-a.nhs.uk", Name: "Sam", Status: "suspended", Source: "csv"},
		{UserID: "@lee:trust-a.nhs.uk", Name: "Lee", Status: "left", Source: "csv"},
		{UserID: "@whatsapp_1:trust-a.nhs.uk", Name: "Puppet", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddHold(ctx, store.Hold{UserID: "@hal:trust-a.nhs.uk", Reason: "their devices were signed out after a report of a lost device", HeldBy: "@ig:trust-a.nhs.uk"}); err != nil {
		t.Fatal(err)
	}
	levels := `{"users":{"@caldicott:trust-a.nhs.uk":100,"@ada:trust-a.nhs.uk":50,"@boss:trust-a.nhs.uk":50}}`
	up := &roomsUpstream{
		upstream: &upstream{rooms: map[string]string{teaRoom: "social", noBotRoom: roomHidden, downRoom: roomDown}},
		policies: map[string]string{
			wardRoom:    `{"class":"clinical"}`,
			doctorsRoom: `{"class":"clinical","allowed_roles":["doctor"],"filters_set_by":"@ada:trust-a.nhs.uk"}`,
			foreignRoom: `{"class":"clinical"}`,
			stalledRoom: `{"class":"clinical","allowed_roles":["doctor"]}`,
		},
		states: map[string]string{
			wardRoom:    roomState("@alice:trust-a.nhs.uk", levels, bot, `{"class":"clinical"}`),
			doctorsRoom: roomState("@alice:trust-a.nhs.uk", levels, bot, `{"class":"clinical","allowed_roles":["doctor"],"filters_set_by":"@ada:trust-a.nhs.uk"}`),
			foreignRoom: roomState("@carol:trust-b.nhs.uk", levels, "@carol:trust-b.nhs.uk", `{"class":"clinical"}`),
		},
		aliases: map[string]string{"#ward:trust-a.nhs.uk": wardRoom, "#flaky:trust-a.nhs.uk": "down"},
	}
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)
	gkURL, m := startGatekeeper(t, upSrv.URL, func(s *Settings) {
		s.Directory, s.Media = st, st
		s.IGAdmins = []string{"@ig:trust-a.nhs.uk"}
	})
	return &rig{up: up.upstream, url: gkURL, metrics: m}, st
}

// Joins by this trust's people into clinical rooms are judged by the join
// gate before Dendrite sees them; refused ones never reach it, the rest
// pass byte for byte.
func TestClientJoinIsJudged(t *testing.T) {
	g, _ := newJoinRig(t)
	tests := []struct {
		name, joiner, path string
		status             int
		err                string
	}{
		{"colleague into a clinical room", "bob", "/rooms/" + wardRoom + "/join", 200, ""},
		{"suspended", "sam", "/rooms/" + wardRoom + "/join", 403, "lists your account as suspended"},
		{"left, by alias", "lee", "/join/" + url.PathEscape("#ward:trust-a.nhs.uk"), 403, "you have left the trust"},
		{"stranger, r0 and encoded", "zed", "/join/%21ward%3Atrust-a.nhs.uk", 403, "not in the staff directory of Trust A"},
		{"held after a lost device", "hal", "/join/" + wardRoom, 403, "You are held out of the clinical rooms of Trust A: their devices were signed out"},
		{"bridge puppet", "whatsapp_1", "/join/" + wardRoom, 403, "bridged account"},
		{"stranger into a social room", "zed", "/join/" + teaRoom, 200, ""},
		{"stranger into a room the bot is not in", "zed", "/join/" + noBotRoom, 200, ""},
		{"stranger, class unreadable", "zed", "/join/" + downRoom, 403, "I could not check this room's policy"},
		{"stranger, alias nobody has", "zed", "/join/" + url.PathEscape("#nowhere:trust-a.nhs.uk"), 404, "No room has the address #nowhere:trust-a.nhs.uk."},
		{"stranger, alias unresolvable", "zed", "/join/" + url.PathEscape("#flaky:trust-a.nhs.uk"), 403, "I could not check this room's policy"},
		// The join is forwarded for the room judged, so an alias that
		// cannot be resolved cannot be judged or forwarded.
		{"colleague, alias unresolvable", "bob", "/join/" + url.PathEscape("#flaky:trust-a.nhs.uk"), 403, "I could not check this room's policy"},
		{"nurse into a doctors' room", "bob", "/rooms/" + doctorsRoom + "/join", 403, "This room is for doctor; the staff directory lists you as nurse"},
		{"doctor into a doctors' room", "doc", "/rooms/" + doctorsRoom + "/join", 200, ""},
		{"nurse at the filter setter's level", "boss", "/rooms/" + doctorsRoom + "/join", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			version := "v3"
			if strings.Contains(tt.path, "%21") {
				version = "r0"
			}
			path := "/_matrix/client/" + version + tt.path
			body := []byte(`{"reason":"` + tt.name + `"}`)
			a := g.do(t, http.MethodPost, path, body, "Authorization", "Bearer tok-"+tt.joiner)
			g.expect(t, http.MethodPost, path, body, a, tt.status, tt.err)
		})
	}
	if n := g.refusals(EndpointClientJoin, "not_in_directory"); n != 1 {
		t.Errorf("not_in_directory join refusals counted %v, want 1", n)
	}
	// Credentials Dendrite does not know: passed undecided, to be refused there.
	path := "/_matrix/client/v3/rooms/" + wardRoom + "/join"
	a := g.do(t, http.MethodPost, path, []byte(`{}`), "Authorization", "Bearer unknown")
	g.expect(t, http.MethodPost, path, []byte(`{}`), a, 200, "")
}

// Invitations are judged, as joins are, by holds and by the room's role
// and team filters, in words for the one inviting.
func TestClientInviteChecksHoldsAndFilters(t *testing.T) {
	g, _ := newJoinRig(t)
	tests := []struct {
		name, room, invitee string
		status              int
		err                 string
	}{
		{"held after a lost device", wardRoom, "@hal:trust-a.nhs.uk", 403, "You cannot invite @hal:trust-a.nhs.uk into this clinical room: they are held out"},
		{"nurse into a doctors' room", doctorsRoom, "@bob:trust-a.nhs.uk", 403, "it is for doctor, and the staff directory lists them as nurse"},
		{"doctor into a doctors' room", doctorsRoom, "@doc:trust-a.nhs.uk", 200, ""},
		{"nurse at the filter setter's level", doctorsRoom, "@boss:trust-a.nhs.uk", 200, ""},
		{"nurse into a clinical room without filters", wardRoom, "@bob:trust-a.nhs.uk", 200, ""},
		{"held, into a social room", teaRoom, "@hal:trust-a.nhs.uk", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/_matrix/client/v3/rooms/" + tt.room + "/invite"
			body := []byte(fmt.Sprintf(`{"user_id":%q}`, tt.invitee))
			a := g.do(t, http.MethodPost, path, body, "Authorization", "Bearer tok-alice")
			g.expect(t, http.MethodPost, path, body, a, tt.status, tt.err)
		})
	}
}

// A direct edit of the room's policy that moves a clinical room out of
// clinical is refused, as the appservice would set it back; edits that
// keep it clinical, and the bot's and the trust's IG admins', pass.
func TestPolicyDowngradeIsRefused(t *testing.T) {
	g, _ := newJoinRig(t)
	tests := []struct {
		name, room, editor, content string
		status                      int
	}{
		{"to social", wardRoom, "tok-alice", `{"class":"social"}`, 403},
		{"class removed", wardRoom, "tok-alice", `{"allowed_roles":["doctor"]}`, 403},
		{"content emptied", wardRoom, "tok-alice", `{}`, 403},
		{"roles changed, still clinical", wardRoom, "tok-alice", `{"class":"clinical","allowed_roles":["nurse"]}`, 200},
		{"social room made clinical", teaRoom, "tok-alice", `{"class":"clinical"}`, 200},
		{"by the bot", doctorsRoom, asToken, `{"class":"social"}`, 200},
		{"by an IG admin of the room's trust", doctorsRoom, "tok-ig", `{"class":"operational"}`, 200},
		{"by our IG admin in another trust's room", foreignRoom, "tok-ig", `{"class":"social"}`, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/_matrix/client/v3/rooms/" + tt.room + "/state/org.caldicott.policy"
			if tt.editor == asToken {
				path += "?user_id=" + url.QueryEscape(bot)
			}
			body := []byte(tt.content)
			a := g.do(t, http.MethodPut, path, body, "Authorization", "Bearer "+tt.editor)
			g.expect(t, http.MethodPut, path, body, a, tt.status, "Moving a room out of clinical is the IG team's decision: type `!policy classify <class> <reason>` and the IG team will be asked.")
		})
	}
}

// Downloads and thumbnails of files the retention sweep deleted (the
// file itself, or another URI with the same bytes) are answered 404 with
// words; other files stream through.
func TestDownloadOfRetentionDeletedMedia(t *testing.T) {
	g, st := newJoinRig(t)
	ctx := context.Background()
	if _, err := st.AppendAudit(ctx, store.AuditEntry{Actor: bot, RoomID: wardRoom, Action: "delete_media", Reason: "expired", Detail: `{"hash":"h1","media":"mxc://trust-a.nhs.uk/gone","txn":"t1"}`}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetMediaHash(ctx, "mxc://trust-a.nhs.uk/samebytes", "h1"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetMediaHash(ctx, "mxc://trust-a.nhs.uk/kept", "h2"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string
		status int
	}{
		{"/_matrix/media/v3/download/trust-a.nhs.uk/gone", 404},
		{"/_matrix/media/r0/download/trust-a.nhs.uk/gone/scan.png", 404},
		{"/_matrix/media/v1/thumbnail/trust-a.nhs.uk/gone?width=32&height=32", 404},
		{"/_matrix/client/v1/media/download/trust-a.nhs.uk/samebytes", 404},
		{"/_matrix/client/v1/media/thumbnail/trust-a.nhs.uk/samebytes?width=32&height=32", 404},
		{"/_matrix/media/v3/download/trust-a.nhs.uk/kept", 200},
		{"/_matrix/client/v1/media/download/trust-a.nhs.uk/unknown/x.pdf", 200},
		{"/_matrix/media/v3/download/trust-b.nhs.uk/gone", 200},
		{"/_matrix/federation/v1/media/download/gone", 404},
		{"/_matrix/federation/v1/media/thumbnail/gone?width=32&height=32", 404},
		{"/_matrix/federation/v1/media/download/kept", 200},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			a := g.do(t, http.MethodGet, tt.path, nil)
			g.expect(t, http.MethodGet, tt.path, nil, a, tt.status, "This file was deleted under the room's retention period.")
			if tt.status == 404 && a.ErrCode != "M_NOT_FOUND" {
				t.Errorf("errcode %s; want M_NOT_FOUND", a.ErrCode)
			}
		})
	}
	want := 0
	for _, tt := range tests {
		if tt.status == 404 {
			want++
		}
	}
	if n := g.refusals(EndpointMediaDownload, ReasonRetentionDeleted); n != float64(want) {
		t.Errorf("retention_deleted refusals counted %v, want %d", n, want)
	}
}
