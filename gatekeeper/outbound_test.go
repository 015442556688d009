package gatekeeper

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/store"
)

// outboundRig is a gatekeeper's forward proxy in front of one TLS server
// standing for every destination (OutboundAddr sends them all there), so
// that whether a destination is reached is the proxy's decision alone.
type outboundRig struct {
	proxy   *url.URL
	metrics *Metrics
	st      *store.Store
	reached atomic.Int32 // requests the destination server answered
	dest    string       // its address
	cancel  context.CancelFunc
}

func newOutboundRig(t *testing.T, tweak func(*Settings)) *outboundRig {
	t.Helper()
	o := &outboundRig{}
	destSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.reached.Add(1)
		_, _ = w.Write([]byte("answered by " + r.Host))
	}))
	t.Cleanup(destSrv.Close)
	o.dest = destSrv.Listener.Addr().String()
	st, err := store.Open(context.Background(), store.SQLite, filepath.Join(t.TempDir(), "caldicott.db"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o.st = st
	upstream, _ := url.Parse("http://127.0.0.1:9") // Dendrite: not asked by the proxy
	s := Settings{
		Upstream: upstream, Rules: testRules, Records: st, Outbound: config.OutboundFederation,
		OutboundAddr: func(string) string { return o.dest },
		Timeouts:     Timeouts{TunnelIdle: time.Minute, TunnelMax: time.Minute},
	}
	if tweak != nil {
		tweak(&s)
	}
	o.metrics = NewMetrics(prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	srv := httptest.NewServer(New(s, o.metrics, zerolog.Nop()).OutboundHandler(ctx))
	t.Cleanup(func() { cancel(); srv.Close() })
	o.proxy, _ = url.Parse(srv.URL)
	return o
}

// get asks for an HTTPS URL through the proxy, as Dendrite's federation
// client does with HTTPS_PROXY.
func (o *outboundRig) get(t *testing.T, u string) (string, error) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy:           http.ProxyURL(o.proxy),
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the test server's own certificate
	}}
	resp, err := client.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body), nil
}

func (o *outboundRig) tunnels(dest, outcome string) float64 {
	return testutil.ToFloat64(o.metrics.Outbound.WithLabelValues(dest, outcome))
}

// With outbound: federation, the proxy tunnels to member trusts and
// refuses the rest before connecting (403 to Dendrite, counted per
// destination, in the audit log with the destination only); with all,
// everything passes, counted; a denied network is refused whatever the
// mode; only CONNECT is served.
func TestOutboundJudgesTheDestination(t *testing.T) {
	o := newOutboundRig(t, nil)
	if body, err := o.get(t, "https://trust-b.nhs.uk:8448/_matrix/federation/v1/version"); err != nil || body != "answered by trust-b.nhs.uk:8448" {
		t.Fatalf("a member trust through the proxy: %q %v", body, err)
	}
	if body, err := o.get(t, "https://127.0.0.12:8448/_matrix/key/v2/server"); err != nil || !strings.HasPrefix(body, "answered") {
		t.Fatalf("a member trust named by IP and port: %q %v", body, err)
	}
	_, err := o.get(t, "https://evil.example:8448/_matrix/federation/v2/invite/%21r%3Aevil.example/$e")
	if err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Fatalf("an outsider through the proxy: %v; want the proxy's 403", err)
	}
	if n := o.reached.Load(); n != 2 {
		t.Fatalf("the destination answered %d requests; want the members' 2, not the outsider's", n)
	}
	if o.tunnels("trust-b.nhs.uk:8448", OutcomePassed) != 1 || o.tunnels("evil.example:8448", OutcomeRefused) != 1 ||
		testutil.ToFloat64(o.metrics.Refusals.WithLabelValues(EndpointOutbound, ReasonOutsideDestination)) != 1 {
		t.Errorf("tunnels counted: trust-b passed %v, evil refused %v", o.tunnels("trust-b.nhs.uk:8448", OutcomePassed), o.tunnels("evil.example:8448", OutcomeRefused))
	}
	var audited []store.AuditEntry
	_ = o.st.AuditSince(context.Background(), time.Time{}, func(e store.AuditEntry) error {
		audited = append(audited, e)
		return nil
	})
	if len(audited) != 1 || audited[0].Action != ActionRefused || audited[0].Actor != "trust-a.nhs.uk" || audited[0].Reason != ReasonOutsideDestination ||
		!strings.Contains(audited[0].Detail, `"destination":"evil.example:8448"`) || strings.Contains(audited[0].Detail, "invite") {
		t.Errorf("audit: %+v; want one gatekeeper.refused by trust-a.nhs.uk naming the destination only", audited)
	}

	all := newOutboundRig(t, func(s *Settings) { s.Outbound = config.OutboundAll })
	if body, err := all.get(t, "https://evil.example:8448/x"); err != nil || body != "answered by evil.example:8448" {
		t.Fatalf("outbound all: %q %v; want passed", body, err)
	}
	if all.tunnels("evil.example:8448", OutcomePassed) != 1 {
		t.Error("outbound all: the tunnel is not counted under its destination")
	}

	denied := newOutboundRig(t, func(s *Settings) {
		s.Outbound, s.OutboundDeny = config.OutboundAll, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	if _, err := denied.get(t, "https://trust-b.nhs.uk:8448/x"); err == nil || !strings.Contains(err.Error(), "Forbidden") || denied.reached.Load() != 0 {
		t.Fatalf("a destination in a denied network: %v (reached %d); want 403, never connected", err, denied.reached.Load())
	}
	if testutil.ToFloat64(denied.metrics.Refusals.WithLabelValues(EndpointOutbound, ReasonDeniedNetwork)) != 1 {
		t.Error("the denied network's refusal is not counted")
	}

	resp, err := http.Get(o.proxy.String() + "/_matrix/federation/v1/version")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodConnect {
		t.Errorf("a plain request to the proxy: %d; want 405, Allow: CONNECT", resp.StatusCode)
	}
}

// Tunnels are bounded: one nothing crosses is closed after tunnel_idle,
// any after tunnel_max, and all when the gatekeeper stops.
func TestOutboundTunnelsEnd(t *testing.T) {
	tests := []struct {
		name       string
		idle, max  time.Duration
		stop       bool
		wantWithin time.Duration
	}{
		{"idle", 200 * time.Millisecond, time.Minute, false, 3 * time.Second},
		{"past its maximum", time.Minute, 300 * time.Millisecond, false, 3 * time.Second},
		{"gatekeeper stopping", time.Minute, time.Minute, true, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOutboundRig(t, func(s *Settings) { s.Timeouts.TunnelIdle, s.Timeouts.TunnelMax = tt.idle, tt.max })
			conn, err := net.Dial("tcp", o.proxy.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, _ = io.WriteString(conn, "CONNECT trust-b.nhs.uk:8448 HTTP/1.1\r\nHost: trust-b.nhs.uk:8448\r\n\r\n")
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("CONNECT: %v %v", resp, err)
			}
			if tt.stop {
				o.cancel()
			}
			_ = conn.SetReadDeadline(time.Now().Add(tt.wantWithin))
			start := time.Now()
			_, err = br.ReadByte()
			if !errors.Is(err, io.EOF) {
				t.Fatalf("the tunnel was not closed within %s: %v", tt.wantWithin, err)
			}
			t.Logf("closed after %s", time.Since(start))
		})
	}
}

// A tunnel in use outlives tunnel_idle: every crossing puts the idle limit off.
func TestOutboundTunnelInUseStaysOpen(t *testing.T) {
	o := newOutboundRig(t, func(s *Settings) { s.Timeouts.TunnelIdle = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", o.proxy.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "CONNECT trust-b.nhs.uk:8448 HTTP/1.1\r\nHost: trust-b.nhs.uk:8448\r\n\r\n")
	br := bufio.NewReader(conn)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: "trust-b.nhs.uk"})
	tr := bufio.NewReader(tc)
	for i := range 8 { // 8 × 100 ms: well past the 300 ms idle limit
		if _, err := io.WriteString(tc, "GET /_matrix/federation/v1/version HTTP/1.1\r\nHost: trust-b.nhs.uk:8448\r\n\r\n"); err != nil {
			t.Fatalf("request %d through the tunnel: %v", i, err)
		}
		resp, err := http.ReadResponse(tr, nil)
		if err != nil {
			t.Fatalf("answer %d through the tunnel: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		time.Sleep(100 * time.Millisecond)
	}
	if n := o.reached.Load(); n != 8 {
		t.Fatalf("the destination answered %d requests through one tunnel; want 8", n)
	}
}

// The proxy as caldicott gatekeeper runs it (ServeOutbound, with its
// server's timeouts) carries a tunnel's TLS: the bytes after a CONNECT
// are not read as the head of a next request and held until the tunnel
// times out (as Serve's framing guard would).
func TestOutboundTunnelsThroughServe(t *testing.T) {
	o := newOutboundRig(t, nil)
	s := Settings{
		Upstream: &url.URL{Scheme: "http", Host: "127.0.0.1:9"}, Rules: testRules, Outbound: config.OutboundAll,
		OutboundAddr: func(string) string { return o.dest },
		Timeouts:     Timeouts{ReadHeader: 5 * time.Second, Read: time.Minute, Write: time.Minute, Idle: time.Minute, TunnelIdle: 3 * time.Second, TunnelMax: time.Minute},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeOutbound(ctx, ln, New(s, NewMetrics(prometheus.NewRegistry()), zerolog.Nop()).OutboundHandler(ctx), s.Timeouts)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeOutbound: %v", err)
		}
	})
	o.proxy = &url.URL{Scheme: "http", Host: ln.Addr().String()}
	for i := range 2 {
		start := time.Now()
		body, err := o.get(t, "https://trust-b.nhs.uk:8448/_matrix/federation/v1/version")
		if err != nil || !strings.HasPrefix(body, "answered by") {
			t.Fatalf("request %d through the proxy: %q, %v after %v", i, body, err, time.Since(start))
		}
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Fatalf("request %d took %v: the tunnel waited for something", i, elapsed)
		}
	}
}

// The default outbound_deny_networks keep the proxy off this host by every
// spelling of it: "this network" (0.0.0.0), the unspecified ::, any
// link-local address (zoned or not), IPv4 in IPv6.
func TestDefaultDenyNetworksCoverThisHost(t *testing.T) {
	deny, err := prefixes(config.DefaultOutboundDenyNetworks)
	if err != nil {
		t.Fatal(err)
	}
	judge := denyNetworks(deny)
	for _, tt := range []struct {
		addr   string
		denied bool
	}{
		{"127.0.0.1:8448", true},
		{"0.0.0.0:8448", true},
		{"0.1.2.3:8448", true},
		{"[::]:8448", true},
		{"[::1]:8448", true},
		{"[::ffff:127.0.0.1]:8448", true},
		{"[fe80::1]:8448", true},
		{"[fe80::1%lo]:8448", true},
		{"[fe80:0:0:1::1]:8448", true},
		{"[fd00::1%eth0]:8448", true},
		{"10.0.0.1:8448", true},
		{"81.144.1.2:8448", false},
		{"[2a00:1450::1]:8448", false},
	} {
		err := judge(context.Background(), "tcp", tt.addr, nil)
		if denied := errors.Is(err, errDeniedNetwork); denied != tt.denied {
			t.Errorf("%s: denied %v (%v); want %v", tt.addr, denied, err, tt.denied)
		}
	}
}
