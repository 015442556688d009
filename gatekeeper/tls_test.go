package gatekeeper

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/internal/testenv"
)

// On the federation port the gatekeeper terminates TLS itself: a member
// trust's join and an outsider's are judged as behind a TLS front (the
// outsider's refused, never reaching the upstream), over HTTP/2 as other
// servers speak it; a renewed certificate is served from the next
// handshake; a pair that does not load stops the start.
func TestTLSListener(t *testing.T) {
	up := &upstream{rooms: rooms}
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)
	dir := t.TempDir()
	certFile, keyFile := testenv.SelfSignedPair(t, dir, "127.0.0.1", "first")
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := ListenTLS(raw, certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(upSrv.URL)
	s := Settings{Upstream: base, Rules: testRules, ASToken: asToken, MaxJudgedBody: 64 << 10, RoomStateTTL: time.Minute, RoomStateTimeout: 2 * time.Second}
	m := NewMetrics(prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, New(s, m, zerolog.Nop()).Handler(), Timeouts{ReadHeader: 5 * time.Second, Read: time.Minute, Write: time.Minute, Idle: time.Minute})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	var seenCN []string
	client := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // self-signed, as Dendrite's disable_tls_validation
		VerifyConnection: func(cs tls.ConnectionState) error {
			seenCN = append(seenCN, cs.PeerCertificates[0].Subject.CommonName)
			return nil
		},
	}}}
	g := &rig{up: up, url: "https://" + raw.Addr().String(), metrics: m}
	join := func(origin string) answer {
		t.Helper()
		req, _ := http.NewRequest("GET", g.url+"/_matrix/federation/v1/make_join/%21ward7%3Atrust-a.nhs.uk/@x:"+origin, nil)
		req.Header.Set("Authorization", xMatrix(origin))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Errorf("spoke %s; want HTTP/2, which Dendrite's federation client asks for", resp.Proto)
		}
		a := answer{Status: resp.StatusCode}
		a.Body, _ = io.ReadAll(resp.Body)
		_ = json.Unmarshal(a.Body, &a)
		return a
	}
	if a := join("evil.example"); a.Status != http.StatusForbidden || !strings.Contains(a.Error, "not a member of this federation") {
		t.Fatalf("outsider's make_join over TLS: %d %s", a.Status, a.Error)
	}
	if a := join("trust-b.nhs.uk"); a.Status != http.StatusOK || string(a.Body) != `{"upstream":true}` {
		t.Fatalf("member's make_join over TLS: %d %s", a.Status, a.Body)
	}
	if n := len(up.requests()); n != 1 {
		t.Fatalf("upstream saw %d requests; want only the member's", n)
	}

	// Renewal: the files change, the next handshake gets the new pair.
	time.Sleep(10 * time.Millisecond) // a later modification time on coarse clocks
	testenv.SelfSignedPair(t, dir, "127.0.0.1", "renewed")
	client.CloseIdleConnections()
	join("trust-b.nhs.uk")
	if len(seenCN) != 2 || seenCN[0] != "first" || seenCN[1] != "renewed" {
		t.Errorf("certificates served %v; want [first renewed]", seenCN)
	}

	if err := os.WriteFile(filepath.Join(dir, "bad.key"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenTLS(raw, certFile, filepath.Join(dir, "bad.key")); err == nil || !strings.Contains(err.Error(), "key pair") {
		t.Errorf("a pair that does not load: %v; want an error naming the key pair", err)
	}
}
