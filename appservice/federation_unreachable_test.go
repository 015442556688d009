package appservice_test

import (
	"strings"
	"testing"
	"time"
)

// TestFederationListUnreachable: trust B starts while trust A, which hosts
// the federation's policy list, is down. B goes on enforcing with what it
// has, tells its IG team once that it cannot read the list (not at the
// first failure: at start-up the host may simply not have made the room
// yet), and tells them again when the list can be read.
func TestFederationListUnreachable(t *testing.T) {
	a := newTrust(t, "127.0.0.11", "", "")
	b := newTrust(t, "127.0.0.12", "", "")
	federate(a, b)
	a.hs.Stop()
	b.startCaldicott(t, true)
	igB, mgmtB := igAdmin(t, b)
	noticesWith := func(text string) int {
		n := 0
		for _, s := range botNotices(t, igB, mgmtB, b.botID()) {
			if strings.Contains(s, text) {
				n++
			}
		}
		return n
	}
	const down, back = "I cannot read the federation's policy list", "can be read again"
	eventually(t, 45*time.Second, "trust B to say it cannot read the list", func() (bool, string) {
		return noticesWith(down) == 1, ""
	})
	if b.svc.FederationListRoom() != "" {
		t.Fatal("trust B claims to be in a list room it could not reach")
	}

	a.hs.Start(t)
	a.startCaldicott(t, true)
	eventually(t, 60*time.Second, "trust B to join the list once trust A is back", func() (bool, string) {
		return b.svc.FederationListRoom() != "" && b.svc.FederationListRoom() == a.svc.FederationListRoom(), string(b.svc.FederationListRoom())
	})
	eventually(t, 30*time.Second, "trust B to say the list can be read again", func() (bool, string) {
		return noticesWith(back) == 1, ""
	})
	if n := noticesWith(down); n != 1 {
		t.Fatalf("trust B said %d times that it cannot read the list; once is enough", n)
	}
}
