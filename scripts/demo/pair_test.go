package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/config"
)

// The proxy alternates between the pair, sends the body on, and when one
// is down sends everything to the other.
func TestRoundRobinSkipsADeadProcess(t *testing.T) {
	answer := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			_, _ = io.WriteString(w, name+":"+r.Method+":"+r.URL.Path+":"+string(body))
		}))
	}
	a, b := answer("a"), answer("b")
	defer a.Close()
	proxy := httptest.NewServer(&roundRobin{backends: []string{a.URL, b.URL}})
	defer proxy.Close()
	put := func() string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, proxy.URL+"/_matrix/app/v1/transactions/1", strings.NewReader(`{"events":[]}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		return string(got)
	}
	seen := map[string]bool{}
	for range 4 {
		got := put()
		if !strings.HasSuffix(got, `:PUT:/_matrix/app/v1/transactions/1:{"events":[]}`) {
			t.Fatalf("proxied answer %q", got)
		}
		seen[got[:1]] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("round robin reached %v, want both", seen)
	}
	b.Close()
	for range 4 {
		if got := put(); !strings.HasPrefix(got, "a:") {
			t.Fatalf("with b down the proxy answered %q, want a's", got)
		}
	}
}

// The pair's configs are made from the one the demo leaves after
// generating the registration (which rewrites the file, two-space
// indented): both on PostgreSQL, each on its own ports, with the same
// rules — so neither refuses the other as a standby with other rules.
func TestPairConfigsFromTheRewrittenConfig(t *testing.T) {
	dir := t.TempDir()
	tr := trust{name: "Trust A", ip: "127.0.0.11", asPort: 29331, serverName: "127.0.0.11:8448", dir: dir}
	written := `homeserver:
  address: http://127.0.0.11:8008
  domain: "127.0.0.11:8448"
appservice:
  address: http://127.0.0.1:29331
  hostname: 127.0.0.1
  port: 29331
  as_token: ` + strings.Repeat("a", 64) + `
  hs_token: ` + strings.Repeat("b", 64) + `
database:
  type: sqlite
  uri: ` + filepath.Join(dir, "caldicott.db") + `
trust:
  name: Trust A
  management_room: "#caldicott-management:127.0.0.11:8448"
  ig_admins: ["@ig:127.0.0.11:8448"]
admin_api:
  listen: 127.0.0.1:29341
`
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(written), 0o600); err != nil {
		t.Fatal(err)
	}
	const uri = "postgres://caldicott@127.0.0.1:5433/pair?sslmode=disable"
	if err := pairConfigs(tr, uri); err != nil {
		t.Fatal(err)
	}
	var prints []string
	for i, name := range []string{"config.yaml", "config-b.yaml"} {
		cfg, err := config.Load(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cfg.Database.Type != "postgres" || cfg.Database.URI != uri {
			t.Errorf("%s: database %s %s, want postgres %s", name, cfg.Database.Type, cfg.Database.URI, uri)
		}
		if cfg.AppService.Port != pairPorts[i] || cfg.AdminAPI.Listen != pairAdmin[i] {
			t.Errorf("%s: port %d admin %s, want %d %s", name, cfg.AppService.Port, cfg.AdminAPI.Listen, pairPorts[i], pairAdmin[i])
		}
		fp, err := cfg.RulesFingerprint()
		if err != nil {
			t.Fatal(err)
		}
		prints = append(prints, fp)
	}
	if prints[0] != prints[1] {
		t.Error("the pair's configs differ in their rules; the standby would refuse to stand by")
	}
	if err := pairConfigs(tr, uri); err == nil {
		t.Error("a config already on PostgreSQL was rewritten again; want an error")
	}
}
