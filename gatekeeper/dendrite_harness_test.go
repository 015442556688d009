package gatekeeper

import (
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/appservice"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/policy"
)

// startTrustDendrite starts trust A's Dendrite on ip with Caldicott's bot
// registered (its appservice is not running: the gatekeeper only reads as
// the bot); it returns the homeserver and the bot's user ID.
func startTrustDendrite(t *testing.T, ip string) (*testenv.Homeserver, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Dendrite")
	}
	hs := testenv.PlanHomeserver(t, testenv.HomeserverOptions{IP: ip})
	rateLimited := false
	reg := &appservice.Registration{
		ID: "caldicott", URL: "http://127.0.0.1:9", AppToken: asToken, ServerToken: "hs-token-for-tests",
		SenderLocalpart: "caldicott", RateLimited: &rateLimited,
		Namespaces: appservice.Namespaces{UserIDs: appservice.NamespaceList{{Regex: "^@caldicott:.*$", Exclusive: true}}},
	}
	regPath := filepath.Join(t.TempDir(), "registration.yaml")
	if err := reg.Save(regPath); err != nil {
		t.Fatal(err)
	}
	hs.AddRegistration(regPath)
	hs.Start(t)
	return hs, "@caldicott:" + hs.ServerName
}

// frontDendrite puts a gatekeeper with trust A's rules in front of hs, the
// federation being federation (the trusts in config); tweak adds what a
// test needs (the store as directory, media index, records). It returns
// the gatekeeper's URL and its metrics.
func frontDendrite(t *testing.T, hs *testenv.Homeserver, bot string, federation []string, tweak func(*Settings)) (string, *Metrics) {
	t.Helper()
	srv, m := frontDendriteServer(t, hs, bot, federation, tweak)
	return srv.URL, m
}

// frontDendriteServer is frontDendrite's gatekeeper as its server, for a
// test that closes it early (closing twice is harmless).
func frontDendriteServer(t *testing.T, hs *testenv.Homeserver, bot string, federation []string, tweak func(*Settings)) (*httptest.Server, *Metrics) {
	t.Helper()
	upstream, err := url.Parse(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := Settings{
		Upstream: upstream, ASToken: asToken, MaxJudgedBody: 1 << 20,
		RoomStateTTL: 5 * time.Second, RoomStateTimeout: 5 * time.Second,
		Rules: policy.GateRules{
			Requirements: policy.Requirements{BotUserID: bot, OwnServer: hs.ServerName, FederationServers: federation, HistoryVisibility: "joined"},
			TrustName:    "Trust A",
		},
	}
	if tweak != nil {
		tweak(&s)
	}
	m := NewMetrics(prometheus.NewRegistry())
	srv := httptest.NewServer(New(s, m, zerolog.Nop()).Handler())
	t.Cleanup(srv.Close)
	return srv, m
}
