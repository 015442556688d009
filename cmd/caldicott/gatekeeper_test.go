package main

import (
	"net"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/config"
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
