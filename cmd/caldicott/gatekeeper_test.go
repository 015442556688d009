package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
	"github.com/rs/zerolog"
)

func TestGatekeeperCommandRefusesBadConfig(t *testing.T) {
	_, cfgOK := configWithTokens(t)
	if code, _, errOut := runCLI("gatekeeper", "-c", cfgOK, "-bogus"); code != exitConfig || !strings.Contains(errOut, "bogus") {
		t.Errorf("bad flag: exit %d, %q", code, errOut)
	}
	t.Setenv(config.EnvASToken, strings.Repeat("a", 40))
	t.Setenv(config.EnvHSToken, strings.Repeat("h", 40))
	dir := t.TempDir()
	for _, tt := range []struct{ extra, want string }{
		{"gatekeeper:\n  listen: nowhere\n", "gatekeeper.listen"},
		{"gatekeeper:\n  endpoints: {client_knock: false}\n", "gatekeeper.endpoints"},
		{"gatekeeper:\n  lisen: 127.0.0.1:1\n", `unknown key "lisen" in section gatekeeper`},
	} {
		cfg := writeConfig(t, dir, tt.extra)
		if code, _, errOut := runCLI("gatekeeper", "-c", cfg); code != exitConfig || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.extra, code, errOut, tt.want)
		}
	}
	// A listen address already taken is a runtime failure, said plainly.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := writeConfig(t, dir, "gatekeeper:\n  listen: "+taken.Addr().String()+"\n")
	if code, _, errOut := runCLI("gatekeeper", "-c", cfg); code != exitRuntime || !strings.Contains(errOut, "listen on "+taken.Addr().String()) {
		t.Errorf("taken address: exit %d, stderr %q; want 1", code, errOut)
	}
}

// The gatekeeper inside the appservice's process (gatekeeper.in_process):
// the same starter as `caldicott gatekeeper`, serving in front of the
// homeserver until the process stops; an address it cannot listen on stops
// Caldicott at start-up, said plainly, rather than leaving clinicians'
// traffic without its proxy.
func TestGatekeeperInProcess(t *testing.T) {
	t.Setenv(config.EnvASToken, strings.Repeat("a", 40))
	t.Setenv(config.EnvHSToken, strings.Repeat("h", 40))
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"versions":["v1.2"]}`))
	}))
	defer upstream.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	free.Close()
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "gatekeeper:\n  in_process: true\n  listen: "+addr+"\n  upstream: "+upstream.URL+"\n")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, store.SQLite, filepath.Join(dir, "c.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wait, err := startGatekeeper(ctx, cfg, st, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- wait() }()
	resp, err := http.Get("http://" + addr + "/_matrix/client/versions")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "v1.2") {
		t.Fatalf("passthrough: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Post("http://"+addr+"/_matrix/client/v3/rooms/%21r%3Atrust-a.example.nhs.uk/invite", "application/json", strings.NewReader("{not json"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "M_NOT_JSON") {
		t.Fatalf("a malformed invite: %d %s; want 400 M_NOT_JSON from the gatekeeper", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("the gatekeeper stopped with %v", err)
	}

	// Its address taken: Caldicott does not start.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfgPath = writeConfig(t, t.TempDir(), "gatekeeper:\n  in_process: true\n  listen: "+taken.Addr().String()+"\n")
	if code, _, errOut := runCLI("-c", cfgPath); code != exitRuntime || !strings.Contains(errOut, "gatekeeper: listen on "+taken.Addr().String()) {
		t.Errorf("in-process gatekeeper on a taken address: exit %d, stderr %q; want 1", code, errOut)
	}
}

// The subcommand's starter serves TLS on the gatekeeper's listener
// (gatekeeper.tls_cert, tls_key: standing on the federation port) and the
// forward proxy for outbound federation (outbound_listen), judging its
// destinations by the federation; both stop when the gatekeeper does.
func TestGatekeeperServesTLSAndOutbound(t *testing.T) {
	t.Setenv(config.EnvASToken, strings.Repeat("a", 40))
	t.Setenv(config.EnvHSToken, strings.Repeat("h", 40))
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"server":{"name":"Dendrite"}}`))
	}))
	defer upstream.Close()
	dir := t.TempDir()
	cert, key := testenv.SelfSignedPair(t, dir, "127.0.0.1", "gatekeeper")
	addrs := make([]string, 2)
	for i := range addrs {
		free, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = free.Addr().String()
		free.Close()
	}
	cfgPath := writeConfig(t, dir, fmt.Sprintf("gatekeeper:\n  listen: %s\n  upstream: %s\n  tls_cert: %s\n  tls_key: %s\n  outbound_listen: %s\n  outbound: federation\n",
		addrs[0], upstream.URL, cert, key, addrs[1]))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, store.SQLite, filepath.Join(dir, "c.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wait, err := startGatekeeper(ctx, cfg, st, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- wait() }()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + addrs[0] + "/_matrix/federation/v1/version")
	if err != nil {
		t.Fatalf("the federation port over TLS: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Dendrite") || resp.TLS == nil {
		t.Fatalf("the federation port over TLS: %d %s", resp.StatusCode, body)
	}

	proxied := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addrs[1]})}}
	if _, err := proxied.Get("https://matrix.org/_matrix/federation/v1/version"); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Fatalf("a server outside the federation through the forward proxy: %v; want 403", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("the gatekeeper stopped with %v", err)
	}
	for _, a := range addrs {
		if c, err := net.Dial("tcp", a); err == nil {
			c.Close()
			t.Errorf("%s still listens after the gatekeeper stopped", a)
		}
	}
}
