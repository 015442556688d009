package appservice_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// TestSCIMProvisioning: an identity provider provisions and disables staff
// over SCIM on Caldicott's own listener; disabling someone removes them from
// clinical rooms at once, not at the next sweep. A userName on a domain not
// the trust's is refused; a removal beyond the mass-removal guard is refused,
// leaves the person in their rooms and tells the management room, and goes
// through once an IG admin confirms.
func TestSCIMProvisioning(t *testing.T) {
	token := strings.Repeat("s", 40)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: fmt.Sprintf("directory: {max_removal_fraction: 0.5, hold_min_removals: 1, scim: {token: %q, upn_domains: [trust-a.example]}}\n", token)})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	dave := tr.HS.RegisterUser(t, "dave", false)
	erin := tr.HS.RegisterUser(t, "erin", false)
	server := tr.HS.ServerName
	scim := func(method, path, body, auth string) int {
		t.Helper()
		req, _ := http.NewRequest(method, tr.Config.AppService.Address+"/scim/v2"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/scim+json")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	user := func(local, name string) string {
		return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s@trust-a.example","displayName":%q,"title":"Staff Nurse","active":true}`, local, name)
	}
	if code := scim("POST", "/Users", user("alice", "Alice Smith"), "wrong"); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	forged := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ig@evil.example","displayName":"Not the IG admin","active":false}`
	if code := scim("POST", "/Users", forged, token); code != 400 {
		t.Fatalf("userName on another domain: %d", code)
	}
	for local, name := range map[string]string{"alice": "Alice Smith", "dave": "Dave Patel", "erin": "Erin Jones"} {
		if code := scim("POST", "/Users", user(local, name), token); code != 201 {
			t.Fatalf("provision %s: %d", local, code)
		}
	}
	room := tr.ClinicalRoom(t, alice, dave, erin)
	testenv.WaitForNotice(t, alice, room, bot, dave.UserID.String()+" joined: Dave Patel · Staff Nurse · Trust A.")
	testenv.WaitForNotice(t, alice, room, bot, erin.UserID.String()+" joined: Erin Jones · Staff Nurse · Trust A.")

	start := time.Now()
	patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`
	if code := scim("PATCH", "/Users/"+url.PathEscape("@dave:"+server), patch, token); code != 200 {
		t.Fatalf("disable dave: %d", code)
	}
	waitGone(t, alice, room, dave.UserID, 10*time.Second)
	t.Logf("disabled over SCIM, removed %s later (sweep interval is 5 min)", time.Since(start).Round(time.Millisecond))
	if reason := memberReason(t, alice, room, dave.UserID); !strings.Contains(reason, "suspended") {
		t.Errorf("dave told %q", reason)
	}

	// Half the staff is the limit here: removing erin too (2 of 3) is refused.
	ig, mgmt := tr.IGAdmin(t)
	if code := scim("PATCH", "/Users/"+url.PathEscape("@erin:"+server), patch, token); code != 403 {
		t.Fatalf("removal beyond the limit: %d", code)
	}
	testenv.WaitForNotice(t, ig, mgmt, bot, "asked over SCIM to remove @erin:"+server, "`!policy directory confirm`")
	if !isMember(t, alice, room, erin.UserID) {
		t.Fatal("a refused SCIM removal removed erin")
	}
	testenv.Say(t, ig, mgmt, "!policy directory status")
	testenv.WaitForNotice(t, ig, mgmt, bot, "SCIM removals held for confirmation since", "@erin:"+server)
	// Confirmed, the held removal is applied at once.
	testenv.Say(t, ig, mgmt, "!policy directory confirm")
	testenv.WaitForNotice(t, ig, mgmt, bot, "Confirmed and applied: 1 held SCIM removals (@erin:"+server+")")
	waitGone(t, alice, room, erin.UserID, 10*time.Second)
}
