package kit

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/policy"
)

// A trust listed by host while its user IDs carry a port is still matched
// (the gate and the ACL match hosts), but its bot is derived without the
// port and never found: the operator is told once, in the log, with the
// server name to list instead. An entry with the port, or a user on the
// bare host, says nothing.
func TestTrustServerOfWarnsOfAMissingPort(t *testing.T) {
	var logged bytes.Buffer
	k := &Kit{Cfg: &config.Config{Homeserver: config.Homeserver{Domain: "127.0.0.11:8448"}}, BotID: "@caldicott:127.0.0.11:8448", Log: zerolog.New(&logged)}
	warnings := func() int { return strings.Count(logged.String(), "without the port its user IDs carry") }

	k.SetRequirements(policy.Requirements{FederationServers: []string{"127.0.0.12"}})
	for range 3 {
		if got := k.TrustServerOf("@dora:127.0.0.12:8448"); got != "127.0.0.12" {
			t.Fatalf("TrustServerOf = %q, want the listed entry", got)
		}
	}
	if warnings() != 1 || !strings.Contains(logged.String(), `"server_name":"127.0.0.12:8448"`) {
		t.Fatalf("want one warning naming 127.0.0.12:8448, got:\n%s", logged.String())
	}
	if got := k.TrustServerOf("@dora:127.0.0.12"); got != "127.0.0.12" || warnings() != 1 {
		t.Fatalf("a user on the bare host: %q, warnings %d", got, warnings())
	}

	k.SetRequirements(policy.Requirements{FederationServers: []string{"127.0.0.12:8448"}})
	if got := k.TrustServerOf("@dora:127.0.0.12:8448"); got != "127.0.0.12:8448" || warnings() != 1 {
		t.Fatalf("listed with the port: %q, warnings %d", got, warnings())
	}
	if got := k.TrustBot("127.0.0.12:8448"); got != "@caldicott:127.0.0.12:8448" {
		t.Fatalf("TrustBot = %q", got)
	}
}
