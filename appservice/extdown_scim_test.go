package appservice_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// TestSCIMClientSilent: the identity provider stops pushing. Silence
// removes nobody; after directory.scim.expect_every the IG team is told
// once and the gauge says so. When it comes back it sends again what was
// in flight when it died — the same PUT, PATCH and DELETE twice each, as
// SCIM clients retry: each is applied once (one removal from the room, one
// directory_change per person changed, none for a PUT that changes
// nothing), the retried DELETE of someone already gone is answered 404 as
// RFC 7644 says, and the IG team is told once that it is back.
func TestSCIMClientSilent(t *testing.T) {
	token := strings.Repeat("s", 40)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: fmt.Sprintf("directory: {scim: {token: %q, upn_domains: [trust-a.example], expect_every: 10s}}\n", token)})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	dave := tr.HS.RegisterUser(t, "dave", false)
	erin := tr.HS.RegisterUser(t, "erin", false)
	server := tr.HS.ServerName
	scim := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, tr.Config.AppService.Address+"/scim/v2"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/scim+json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	user := func(local, name, title string) string {
		return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s@trust-a.example","displayName":%q,"title":%q,"active":true}`, local, name, title)
	}
	for local, name := range map[string]string{"alice": "Alice Smith", "dave": "Dave Patel", "erin": "Erin Jones"} {
		if code := scim("POST", "/Users", user(local, name, "Staff Nurse")); code != 201 {
			t.Fatalf("provision %s: %d", local, code)
		}
	}
	lastRequest := time.Now()
	ig, mgmt := tr.IGAdmin(t)
	room := tr.ClinicalRoom(t, alice, dave, erin)
	testenv.WaitForNotice(t, alice, room, bot, erin.UserID.String()+" joined: Erin Jones")
	const silent, back = "The identity provider has sent no SCIM request since", "The identity provider is sending SCIM requests again"

	// Silence since the last provisioning above.
	testenv.WaitForNotice(t, ig, mgmt, bot, silent, "Nobody is added or removed because of the silence")
	t.Logf("SCIM silent: IG team told %s after the last request (expect_every 10s)", time.Since(lastRequest).Round(time.Second))
	if g := metricLine(t, tr, "caldicott_directory_scim_silent"); g != "caldicott_directory_scim_silent 1" {
		t.Fatalf("while silent: %s", g)
	}
	testenv.Quiet(t, 8*time.Second, "nobody removed and one notice while SCIM is silent", func() (bool, string) {
		for _, u := range []id.UserID{alice.UserID, dave.UserID, erin.UserID} {
			if !isMember(t, alice, room, u) {
				return false, u.String() + " was removed because SCIM was silent"
			}
		}
		return noticeCount(t, ig, mgmt, bot, silent)()
	})

	// Back, resending what was in flight.
	resumed := time.Now()
	erinID := "/Users/" + url.PathEscape("@erin:"+server)
	for i, code := range []int{scim("PUT", "/Users/"+url.PathEscape("@dave:"+server), user("dave", "Dave Patel", "Staff Nurse")), scim("PUT", "/Users/"+url.PathEscape("@dave:"+server), user("dave", "Dave Patel", "Staff Nurse"))} {
		if code != 200 {
			t.Fatalf("PUT %d of an unchanged dave: %d", i+1, code)
		}
	}
	patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"title","value":"Senior Staff Nurse"}]}`
	for i := range 2 {
		if code := scim("PATCH", "/Users/"+url.PathEscape("@alice:"+server), patch); code != 200 {
			t.Fatalf("PATCH %d of alice: %d", i+1, code)
		}
	}
	if code := scim("DELETE", erinID, ""); code != 204 {
		t.Fatalf("DELETE erin: %d", code)
	}
	if code := scim("DELETE", erinID, ""); code != 404 {
		t.Fatalf("retried DELETE of erin, already gone: %d, want 404", code)
	}
	testenv.WaitForNotice(t, ig, mgmt, bot, back)
	t.Logf("SCIM back: IG team told %s after the first request", time.Since(resumed).Round(time.Second))
	waitGone(t, alice, room, erin.UserID, 10*time.Second)
	t.Logf("SCIM back: the retried DELETE's person removed %s after it", time.Since(resumed).Round(time.Second))
	if g := metricLine(t, tr, "caldicott_directory_scim_silent"); g != "caldicott_directory_scim_silent 0" {
		t.Fatalf("after SCIM came back: %s", g)
	}
	testenv.Quiet(t, 5*time.Second, "each retried request applied once", func() (bool, string) {
		if n := membershipChanges(t, alice, room, erin.UserID, event.MembershipLeave); n != 1 {
			return false, fmt.Sprintf("erin removed %d times", n)
		}
		if !isMember(t, alice, room, alice.UserID) || !isMember(t, alice, room, dave.UserID) {
			return false, "a member the identity provider kept was removed"
		}
		if ok, s := noticeCount(t, ig, mgmt, bot, silent)(); !ok {
			return false, s
		}
		return noticeCount(t, ig, mgmt, bot, back)()
	})
	per := map[string]int{}
	for _, e := range auditEntries(t, tr, resumed, "directory_change") {
		for _, u := range []id.UserID{alice.UserID, dave.UserID, erin.UserID} {
			if strings.Contains(e.Detail+e.Reason, u.String()) {
				per[u.Localpart()]++
			}
		}
	}
	if per["alice"] != 1 || per["erin"] != 1 || per["dave"] != 0 {
		t.Errorf("directory_change entries per person since SCIM came back: %v, want alice 1, erin 1, dave 0", per)
	}
	auditIntact(t, tr)
}
