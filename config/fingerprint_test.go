package config

import (
	"strings"
	"testing"
)

// The fingerprint follows the sections that decide policy and nothing
// else: another listen port, token, homeserver address or log level
// leaves it; another rule changes it.
func TestRulesFingerprint(t *testing.T) {
	base := `
homeserver: {address: "http://127.0.0.1:1", domain: "trust-a.example"}
appservice: {address: "http://127.0.0.1:9000", port: 9000, as_token: "as-token-0123456789abcdef0123456789abcdef", hs_token: "hs-token-0123456789abcdef0123456789abcdef"}
database: {type: sqlite, uri: "/tmp/x.db"}
trust: {name: "Trust A"}
`
	fp := func(extra string) string {
		t.Helper()
		cfg, err := Parse([]byte(base + extra))
		if err != nil {
			t.Fatal(err)
		}
		got, err := cfg.RulesFingerprint()
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := fp("")
	tests := []struct {
		name, extra string
		same        bool
	}{
		{"no change", "", true},
		{"log level", "logging: {level: debug}", true},
		{"another port and tokens", strings.NewReplacer("9000", "9001", "as-token-0", "as-token-1").Replace(base), true},
		{"dry run", "policy: {dry_run: true}", false},
		{"lease", "ha: {lease: 10s}", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra := tt.extra
			if strings.Contains(extra, "homeserver:") {
				// A whole config of its own, not an addition.
				cfg, err := Parse([]byte(extra))
				if err != nil {
					t.Fatal(err)
				}
				got, err := cfg.RulesFingerprint()
				if err != nil || (got == want) != tt.same {
					t.Fatalf("fingerprint %s (%v), base %s; want same=%v", got, err, want, tt.same)
				}
				return
			}
			if got := fp(extra); (got == want) != tt.same {
				t.Fatalf("fingerprint %s, base %s; want same=%v", got, want, tt.same)
			}
		})
	}
}

// Secrets inside a counted section stay out of the fingerprint: two hosts
// may hold different copies of a rotated token, and the fingerprint is
// stored in the database, where a secret must not be derivable from it.
func TestRulesFingerprintLeavesSecretsOut(t *testing.T) {
	base := `
homeserver: {address: "http://127.0.0.1:1", domain: "trust-a.example"}
appservice: {address: "http://127.0.0.1:9000", port: 9000, as_token: "as-token-0123456789abcdef0123456789abcdef", hs_token: "hs-token-0123456789abcdef0123456789abcdef"}
database: {type: sqlite, uri: "/tmp/x.db"}
trust: {name: "Trust A"}
directory: {scim: {token: "%s"}}
`
	fp := func(token string) string {
		t.Helper()
		cfg, err := Parse([]byte(strings.Replace(base, "%s", token, 1)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := cfg.RulesFingerprint()
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if a, b := fp("scim-token-0123456789abcdef0123456789abcdef"), fp("scim-token-fedcba9876543210fedcba9876543210"); a != b {
		t.Fatalf("another SCIM token changed the fingerprint: %s, %s", a, b)
	}
}
