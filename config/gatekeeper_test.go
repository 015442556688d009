package config

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestGatekeeperDefaultsAndProblems(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // substrings of problems, in order; none: valid
	}{
		{"empty section: defaults", ``, nil},
		{"switches by name", `endpoints: {federation_join: false, client_message: true}`, nil},
		{"unknown switch", `endpoints: {client_knock: false}`, []string{`gatekeeper.endpoints: "client_knock" is not a judgement`}},
		{"bad listen", `listen: "8009"`, []string{"gatekeeper.listen"}},
		{"bad upstream", `upstream: "127.0.0.1:8008"`, []string{"gatekeeper.upstream"}},
		{"cap too small", `max_judged_body_bytes: 1000`, []string{"gatekeeper.max_judged_body_bytes"}},
		{"cache too long", `room_state_ttl: 5m`, []string{"gatekeeper.room_state_ttl"}},
		{"a timeout off", `timeouts: {read_header: 0s}`, []string{"gatekeeper.timeouts.read_header: 0s is too short"}},
		{"list trusted too briefly", `max_list_age: 10m`, []string{"gatekeeper.max_list_age: 10m0s is too short"}},
		{"list age as TI-Messenger's", `max_list_age: 72h`, nil},
		{"a certificate without its key", `tls_cert: /etc/ssl/gk.pem`, []string{"gatekeeper.tls_cert: tls_cert and tls_key go together"}},
		{"a key without its certificate", `tls_key: /etc/ssl/gk.key`, []string{"gatekeeper.tls_cert: tls_cert and tls_key go together"}},
		{"TLS files that cannot be read", `{tls_cert: /nonexistent/gk.pem, tls_key: /nonexistent/gk.key}`, []string{"gatekeeper.tls_cert: cannot be read", "gatekeeper.tls_key: cannot be read"}},
		{"TLS files readable", `{tls_cert: testdata/gatekeeper-tls.pem, tls_key: testdata/gatekeeper-tls.pem}`, nil},
		{"outbound judged by the federation", `{outbound_listen: "127.0.0.1:8010", outbound: federation, outbound_allow: [matrix.trust-b.nhs.uk, "matrix.trust-c.nhs.uk:443"], outbound_deny_networks: []}`, nil},
		{"outbound mode unknown", `outbound: members`, []string{`gatekeeper.outbound: "members" is neither`}},
		{"outbound listener not host:port", `outbound_listen: "8010"`, []string{"gatekeeper.outbound_listen"}},
		{"outbound listener on every address", `outbound_listen: ":8010"`, []string{"gatekeeper.outbound_listen"}},
		{"outbound listener on a network address", `outbound_listen: "10.1.2.3:8010"`, []string{"gatekeeper.outbound_listen"}},
		{"outbound listener on a host name", `outbound_listen: "proxy.trust-a.nhs.uk:8010"`, []string{"gatekeeper.outbound_listen"}},
		{"outbound listener on IPv6 loopback", `outbound_listen: "[::1]:8010"`, nil},
		{"outbound listener on localhost", `outbound_listen: "localhost:8010"`, nil},
		{"outbound allowed host malformed", `outbound_allow: ["https://trust-b"]`, []string{"gatekeeper.outbound_allow"}},
		{"outbound deny network malformed", `outbound_deny_networks: [10.0.0.0]`, []string{"gatekeeper.outbound_deny_networks"}},
		{"tunnels unbounded", `timeouts: {tunnel_idle: 0s}`, []string{"gatekeeper.timeouts.tunnel_idle: 0s is too short"}},
		{"tunnel idle past its maximum", `timeouts: {tunnel_idle: 20m, tunnel_max: 10m}`, []string{"gatekeeper.timeouts.tunnel_idle: 20m0s is more than tunnel_max"}},
		{"headers longer than the request", `timeouts: {read_header: 10m, read: 1m}`, []string{"gatekeeper.timeouts.read_header"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g Gatekeeper
			if err := yaml.Unmarshal([]byte(tt.yaml), &g); err != nil {
				t.Fatal(err)
			}
			g.ApplyDefaults("http://127.0.0.1:8008")
			p := g.Problems()
			if len(p) != len(tt.want) {
				t.Fatalf("problems %v; want %d", p, len(tt.want))
			}
			for i, w := range tt.want {
				if got := p[i].Key + ": " + p[i].Msg; !strings.Contains(got, w) {
					t.Errorf("problem %q; want ~%q", got, w)
				}
			}
		})
	}
	var g Gatekeeper
	g.ApplyDefaults("http://dendrite:8008")
	if g.Upstream != "http://dendrite:8008" || g.Listen != DefaultGatekeeperListen || g.Timeouts.Read.Duration != 5*time.Minute || g.MaxListAge.Duration != 72*time.Hour || !g.Judges("client_invite") ||
		g.Outbound != OutboundAll || g.OutboundListen != "" || len(g.OutboundDenyNetworks) != 11 || g.Timeouts.TunnelIdle.Duration != 5*time.Minute || g.Timeouts.TunnelMax.Duration != 10*time.Minute {
		t.Errorf("defaults: %+v", g)
	}
	g.Endpoints = map[string]bool{"client_invite": false}
	if g.Judges("client_invite") || !g.Judges("client_state") {
		t.Error("a judgement switched off by name is not off, or another went with it")
	}
}

// The service and the gatekeeper read one config file: a broken gatekeeper
// section is refused when the file is loaded, naming the key, as any
// other section's would be; a file without the section gets its defaults.
func TestGatekeeperSectionIsCheckedOnLoad(t *testing.T) {
	cfg, err := Parse([]byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Gatekeeper.Listen != DefaultGatekeeperListen || cfg.Gatekeeper.Upstream != cfg.Homeserver.Address {
		t.Fatalf("gatekeeper defaults not applied on load: %+v", cfg.Gatekeeper)
	}
	_, err = Parse([]byte(validConfig + "gatekeeper: {room_state_ttl: 5m}\n"))
	if err == nil || !strings.Contains(err.Error(), "gatekeeper.room_state_ttl") {
		t.Fatalf("a bad gatekeeper section loaded: %v", err)
	}
}
