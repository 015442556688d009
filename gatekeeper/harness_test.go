package gatekeeper

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/policy"
)

const (
	bot     = "@caldicott:trust-a.nhs.uk"
	asToken = "as-token-for-tests"
	// limitedToken's whoami Dendrite rate-limits (429).
	limitedToken = "limited-token"
)

// A room's answer to a read of its policy state, by the fake upstream.
const (
	roomDown     = "down"      // 500
	roomNoBot    = "no-bot"    // 403 for the bot, the class for the user
	roomHidden   = "hidden"    // 403 for everyone
	roomNoPolicy = "no-policy" // 404
)

// seenRequest is a request as the upstream received it.
type seenRequest struct {
	Method     string
	RequestURI string
	Host       string
	Body       []byte
	Header     http.Header
}

// upstream stands in for Dendrite: it records every request it is sent
// and answers room-state reads from rooms (room ID -> class or one of the
// room* answers above).
type upstream struct {
	rooms map[string]string
	mu    sync.Mutex
	seen  []seenRequest
	reads int
}

// Rooms whose creation the bot cannot guard: version 12, and additional
// creators; every other room's creation names version 10.
const (
	v12Room       = "!v12:trust-a.nhs.uk"
	coCreatedRoom = "!cocreated:trust-a.nhs.uk"
)

var createRead = regexp.MustCompile(`^/_matrix/client/v3/rooms/([^/]+)/state/m\.room\.create$`)

var creations = map[string]string{
	v12Room:       `{"room_version":"12"}`,
	coCreatedRoom: `{"room_version":"10","Additional_Creators":["@mallory:trust-a.nhs.uk"]}`,
}

var policyRead = regexp.MustCompile(`^/_matrix/client/v3/rooms/([^/]+)/state/org\.caldicott\.policy$`)

// setRoom changes a room's class behind the gatekeeper's back, as the bot
// does when it classifies a room on Dendrite directly.
func (u *upstream) setRoom(roomID, class string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.rooms[roomID] = class
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m := policyRead.FindStringSubmatch(r.URL.EscapedPath()); m != nil && r.Method == http.MethodGet {
		u.mu.Lock()
		u.reads++
		u.mu.Unlock()
		roomID, _ := url.PathUnescape(m[1])
		asBot := r.Header.Get("Authorization") == "Bearer "+asToken && r.URL.Query().Get("user_id") == bot
		u.mu.Lock()
		answer, ok := u.rooms[roomID]
		u.mu.Unlock()
		switch {
		case !ok || answer == roomNoPolicy:
			http.Error(w, `{"errcode":"M_NOT_FOUND"}`, http.StatusNotFound)
		case answer == roomDown:
			http.Error(w, `{"errcode":"M_UNKNOWN"}`, http.StatusInternalServerError)
		case answer == roomHidden, answer == roomNoBot && asBot:
			http.Error(w, `{"errcode":"M_FORBIDDEN"}`, http.StatusForbidden)
		case answer == roomNoBot:
			_, _ = w.Write([]byte(`{"class":"clinical"}`))
		default:
			_, _ = w.Write([]byte(`{"class":"` + answer + `"}`))
		}
		return
	}
	if m := createRead.FindStringSubmatch(r.URL.EscapedPath()); m != nil && r.Method == http.MethodGet {
		roomID, _ := url.PathUnescape(m[1])
		creation, ok := creations[roomID]
		if !ok {
			creation = `{"room_version":"10"}`
		}
		_, _ = w.Write([]byte(creation))
		return
	}
	if r.URL.Path == "/_matrix/client/v3/account/whoami" {
		if r.Header.Get("Authorization") == "Bearer "+limitedToken {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"errcode":"M_LIMIT_EXCEEDED","error":"You are sending too many requests too quickly!","retry_after_ms":1500}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer alice-token" {
			http.Error(w, `{"errcode":"M_UNKNOWN_TOKEN"}`, http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"user_id":"@alice:trust-a.nhs.uk"}`))
		return
	}
	body, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.seen = append(u.seen, seenRequest{r.Method, r.RequestURI, r.Host, body, r.Header.Clone()})
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"upstream":true}`))
}

func (u *upstream) requests() []seenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seenRequest(nil), u.seen...)
}

func (u *upstream) stateReads() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.reads
}

// rig is a gatekeeper in front of a recording upstream.
type rig struct {
	up      *upstream
	url     string
	metrics *Metrics
}

var testRules = policy.GateRules{
	Requirements: policy.Requirements{
		BotUserID: bot, OwnServer: "trust-a.nhs.uk",
		FederationServers: []string{"trust-b.nhs.uk", "127.0.0.12:8448"}, HistoryVisibility: "joined",
	},
	TrustName:        "Trust A",
	BridgeNamespaces: []*regexp.Regexp{regexp.MustCompile(`^@whatsapp_.+:trust-a\.nhs\.uk$`)},
}

func newRig(t *testing.T, rooms map[string]string, tweak ...func(*Settings)) *rig {
	t.Helper()
	up := &upstream{rooms: rooms}
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)
	gkURL, m := startGatekeeper(t, upSrv.URL, tweak...)
	return &rig{up: up, url: gkURL, metrics: m}
}

// startGatekeeper serves a gatekeeper in front of upstreamURL, with the
// test rules, until the test ends.
func startGatekeeper(tb testing.TB, upstreamURL string, tweak ...func(*Settings)) (string, *Metrics) {
	base, _ := url.Parse(upstreamURL)
	s := Settings{
		Upstream: base, Rules: testRules, ASToken: asToken, MaxJudgedBody: 64 << 10,
		RoomStateTTL: time.Minute, RoomStateTimeout: 2 * time.Second,
	}
	for _, f := range tweak {
		f(&s)
	}
	m := NewMetrics(prometheus.NewRegistry())
	// Behind the framing guard, as Serve runs it.
	gk := httptest.NewUnstartedServer(New(s, m, zerolog.Nop()).Handler())
	gk.Listener = guardFraming(gk.Listener)
	gk.Start()
	tb.Cleanup(gk.Close)
	return gk.URL, m
}

// answer is what the client got.
type answer struct {
	Status  int
	ErrCode string `json:"errcode"`
	Error   string `json:"error"`
	Body    []byte
	Header  http.Header `json:"-"`
}

// do sends a request through the gatekeeper as a client with a token.
func (g *rig) do(t *testing.T, method, path string, body []byte, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, g.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body = nil
	}
	req.Header.Set("Authorization", "Bearer alice-token")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Del(header[i])
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] != "" {
			req.Header.Add(header[i], header[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{Status: resp.StatusCode, Header: resp.Header}
	a.Body, _ = io.ReadAll(resp.Body)
	_ = json.Unmarshal(a.Body, &a)
	return a
}

// expect checks the answer and what the upstream saw: a refusal never
// reaches it; a request passed reaches it byte for byte.
func (g *rig) expect(t *testing.T, method, path string, body []byte, a answer, wantStatus int, wantError string) {
	t.Helper()
	var got *seenRequest
	for _, s := range g.up.requests() {
		if s.RequestURI == path && s.Method == method && bytes.Equal(s.Body, body) {
			got = &s
		}
	}
	if wantStatus == http.StatusOK {
		if a.Status != http.StatusOK || got == nil {
			t.Fatalf("%s %s: status %d (%s: %s), upstream saw it: %v; want it passed byte for byte", method, path, a.Status, a.ErrCode, a.Error, got != nil)
		}
		if string(a.Body) != `{"upstream":true}` {
			t.Fatalf("%s %s: client got %q, not the upstream's answer", method, path, a.Body)
		}
		return
	}
	if got != nil {
		t.Fatalf("%s %s: refused with %d but the upstream saw it", method, path, a.Status)
	}
	if a.Status != wantStatus || !strings.Contains(a.Error, wantError) {
		t.Fatalf("%s %s: got %d %s %q; want %d with error ~%q", method, path, a.Status, a.ErrCode, a.Error, wantStatus, wantError)
	}
}

func (g *rig) refusals(endpoint, reason string) float64 {
	return testutil.ToFloat64(g.metrics.Refusals.WithLabelValues(endpoint, reason))
}
