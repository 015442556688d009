package appservice_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// Two processes on Dendrite and PostgreSQL, the standby with another
// policy config: it says so on /ready and stays on standby while the
// leader lives; killed, the leader is replaced by it, which tells the
// management room once that the rules changed with the failover.
func TestFailoverToOtherRulesIsTold(t *testing.T) {
	bin := failpointBinary(t) // no failpoint named: an ordinary caldicott
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Database: testenv.Postgres(t)})
	tr.Start(t)
	ig, mgmt := tr.IGAdmin(t)
	tr.Stop(t)

	aPort, bPort := testenv.FreePort(t, "127.0.0.1"), testenv.FreePort(t, "127.0.0.1")
	trust.RoundRobin(t, tr.Config.AppService.Port, aPort, bPort)
	a := trust.StartPeer(t, bin, tr, "a", aPort)
	a.WaitRole(t, "leader", 60*time.Second)
	base := tr.YAML
	tr.YAML = strings.Replace(base, "policy: {reconcile_interval: 0s}", "policy: {reconcile_interval: 1h}", 1)
	if tr.YAML == base {
		t.Fatal("the test config has no policy line to change")
	}
	b := trust.StartPeer(t, bin, tr, "b", bPort)
	tr.YAML = base
	testenv.Eventually(t, 30*time.Second, "b reports the mismatch", func() (bool, string) {
		body := readyBody(t, b)
		return strings.HasPrefix(body, "standby\nconfig mismatch: the leader "), body
	})
	time.Sleep(2 * time.Second) // several of b's tries at the lease
	if body := readyBody(t, b); !strings.HasPrefix(body, "standby\n") {
		t.Fatalf("b took a live leader's lease: %q", body)
	}

	a.Signal(t, syscall.SIGKILL)
	b.WaitRole(t, "leader", 15*time.Second)
	const told = "The rules changed with a failover"
	testenv.WaitForNotice(t, ig, mgmt, tr.BotID(), told)
	testenv.Quiet(t, 3*time.Second, "told once", func() (bool, string) {
		n := 0
		for _, text := range testenv.BotNotices(t, ig, mgmt, tr.BotID()) {
			if strings.Contains(text, told) {
				n++
			}
		}
		return n == 1, fmt.Sprintf("%d notices", n)
	})
}

// readyBody is p's /ready body ("" when it does not answer).
func readyBody(t *testing.T, p *trust.Peer) string {
	t.Helper()
	client := http.Client{Timeout: time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/ready", p.Port))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}
