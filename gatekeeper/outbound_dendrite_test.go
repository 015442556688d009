package gatekeeper

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

// On real Dendrites: trust A's Dendrite sends its outbound federation
// through its gatekeeper's forward proxy (HTTPS_PROXY; Dendrite v0.15.2
// has no proxy_outbound setting). With outbound: federation, alice's
// invitation of a user on a server outside the federation fails — the
// proxy refuses the tunnel, so the outsider's server never hears of it —
// and the refusal is counted and audited; trust B's invitation, and the
// messages after its join, cross through the proxy. The same invitation
// with outbound: all reaches the outsider: the refusal is the proxy's.
//
// The other servers have names, not IPs: Go's HTTPS_PROXY handling never
// sends a loopback IP through a proxy, so the test says where each name is
// (OutboundAddr), as DNS would.
func TestOutboundThroughGatekeeperOnDendrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three Dendrites")
	}
	proxyLn, err := net.Listen("tcp", "127.0.0.41:0")
	if err != nil {
		t.Fatal(err)
	}
	a := testenv.PlanHomeserver(t, testenv.HomeserverOptions{IP: "127.0.0.41", Env: []string{"HTTPS_PROXY=http://" + proxyLn.Addr().String()}})
	b := testenv.PlanHomeserver(t, testenv.HomeserverOptions{IP: "127.0.0.42", ServerHost: "trust-b.test"})
	outside := testenv.PlanHomeserver(t, testenv.HomeserverOptions{IP: "127.0.0.43", ServerHost: "outsider.test"})
	where := map[string]string{b.ServerName: b.FederationAddr(), outside.ServerName: outside.FederationAddr()}
	st, err := store.Open(context.Background(), store.SQLite, filepath.Join(t.TempDir(), "caldicott.db"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := NewMetrics(prometheus.NewRegistry())
	upstream, _ := url.Parse(a.URL) // not asked by the proxy
	proxyFor := func(mode string) http.Handler {
		s := Settings{
			Upstream: upstream, Records: st, Outbound: mode,
			OutboundAddr: func(dest string) string {
				if addr, ok := where[dest]; ok {
					return addr
				}
				return dest
			},
		}
		s.Rules.OwnServer, s.Rules.FederationServers = a.ServerName, []string{"trust-b.test"}
		return New(s, m, zerolog.Nop()).OutboundHandler(context.Background())
	}
	var handler atomic.Pointer[http.Handler]
	judged := proxyFor(config.OutboundFederation)
	handler.Store(&judged)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeOutbound(ctx, proxyLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*handler.Load()).ServeHTTP(w, r) }),
			Timeouts{ReadHeader: 10 * time.Second, Read: time.Minute, Write: time.Minute, Idle: time.Minute})
	}()
	t.Cleanup(func() { cancel(); <-done })
	for _, hs := range []*testenv.Homeserver{b, outside, a} {
		hs.Start(t)
	}
	alice := a.RegisterUser(t, "alice", false)
	bob := b.RegisterUser(t, "bob", false)
	mallory := outside.RegisterUser(t, "mallory", false)

	// Trust B: the invitation, and a message after the join, cross the proxy.
	room := createRoom(t, a.URL, alice.AccessToken, "social", bob.UserID.String())
	if !syncHas(t, b.URL, bob.AccessToken, 30*time.Second, invitedTo(room)) {
		t.Fatal("bob of trust B never got alice's invitation through the proxy")
	}
	testenv.JoinOverFederation(t, bob, id.RoomID(room), a.ServerName)
	testenv.SendText(t, alice, id.RoomID(room), "Through the forward proxy")
	if !syncHas(t, b.URL, bob.AccessToken, 30*time.Second, messageIn(room, "Through the forward proxy")) {
		t.Fatal("alice's message never reached bob through the proxy")
	}
	if n := testutil.ToFloat64(m.Outbound.WithLabelValues(b.ServerName, OutcomePassed)); n < 1 {
		t.Fatalf("tunnels to trust B counted %v; Dendrite A did not go through the proxy", n)
	}

	// The outsider: the invitation fails at the proxy.
	start := time.Now()
	status, out := call(t, "POST", roomPath(a.URL, room, "/invite"), alice.AccessToken, map[string]any{"user_id": mallory.UserID.String()})
	t.Logf("inviting the outsider: Dendrite A answered %d %v after %s", status, out, time.Since(start))
	// Dendrite passes on the proxy's refusal of the tunnel (403 Forbidden).
	if status != http.StatusForbidden || !strings.Contains(fmt.Sprint(out["error"]), "Forbidden") {
		t.Fatalf("inviting the outsider: %d %v; want the proxy's 403 passed on", status, out)
	}
	if n := testutil.ToFloat64(m.Outbound.WithLabelValues(outside.ServerName, OutcomeRefused)); n < 1 {
		t.Fatalf("refused tunnels to the outsider counted %v; the invitation did not fail at the proxy", n)
	}
	if syncHas(t, outside.URL, mallory.AccessToken, 3*time.Second, invitedTo(room)) {
		t.Fatal("the outsider's server received the invitation")
	}
	var audited []store.AuditEntry
	_ = st.AuditSince(context.Background(), time.Time{}, func(e store.AuditEntry) error {
		if e.Action == ActionRefused && strings.Contains(e.Detail, `"destination":"`+outside.ServerName+`"`) {
			audited = append(audited, e)
		}
		return nil
	})
	if len(audited) == 0 || audited[0].Actor != a.ServerName || audited[0].Reason != ReasonOutsideDestination {
		t.Fatalf("audit of the refused tunnel: %+v; want gatekeeper.refused by %s, %s", audited, a.ServerName, ReasonOutsideDestination)
	}

	// The same invitation with outbound: all reaches the outsider.
	all := proxyFor(config.OutboundAll)
	handler.Store(&all)
	testenv.Eventually(t, 30*time.Second, "the outsider invited with outbound: all", func() (bool, string) {
		status, out := call(t, "POST", roomPath(a.URL, room, "/invite"), alice.AccessToken, map[string]any{"user_id": mallory.UserID.String()})
		return status == http.StatusOK, fmt.Sprint(status, out)
	})
	if !syncHas(t, outside.URL, mallory.AccessToken, 30*time.Second, invitedTo(room)) {
		t.Fatal("with outbound: all the invitation never reached the outsider: the refusal above proves nothing")
	}
}
