package appservice_test

import (
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// TestFederationListUnreachable: trust B starts while trust A, which hosts
// the federation's policy list, is down. B goes on enforcing with what it
// has, tells its IG team once that it cannot read the list (not at the
// first failure: at start-up the host may simply not have made the room
// yet), and tells them again when the list can be read.
func TestFederationListUnreachable(t *testing.T) {
	a := trust.New(t, trust.Options{Host: "127.0.0.11"})
	b := trust.New(t, trust.Options{Host: "127.0.0.12"})
	trust.Federate(a, b)
	a.HS.Stop()
	b.Start(t)
	igB, mgmtB := b.IGAdmin(t)
	noticesWith := func(text string) int {
		n := 0
		for _, s := range testenv.BotNotices(t, igB, mgmtB, b.BotID()) {
			if strings.Contains(s, text) {
				n++
			}
		}
		return n
	}
	const down, back = "I cannot read the federation's policy list", "can be read again"
	testenv.Eventually(t, 45*time.Second, "trust B to say it cannot read the list", func() (bool, string) {
		return noticesWith(down) == 1, ""
	})
	if b.Service.FederationListRoom() != "" {
		t.Fatal("trust B claims to be in a list room it could not reach")
	}

	a.HS.Start(t)
	a.Start(t)
	testenv.Eventually(t, 60*time.Second, "trust B to join the list once trust A is back", func() (bool, string) {
		return b.Service.FederationListRoom() != "" && b.Service.FederationListRoom() == a.Service.FederationListRoom(), string(b.Service.FederationListRoom())
	})
	testenv.Eventually(t, 30*time.Second, "trust B to say the list can be read again", func() (bool, string) {
		return noticesWith(back) == 1, ""
	})
	if n := noticesWith(down); n != 1 {
		t.Fatalf("trust B said %d times that it cannot read the list; once is enough", n)
	}
}
