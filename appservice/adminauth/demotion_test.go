package adminauth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestIGAdminRemovalEndsAccess: once someone is no longer one of the
// trust's IG admins, their session ends at their next request (audited
// once), a form they post is refused, and a token made --for them is
// refused 401 in plain words, audited; a system's token is unaffected.
func TestIGAdminRemovalEndsAccess(t *testing.T) {
	rg := newRig(t, nil)
	b := rg.browser(t)
	rg.signIn(t, b)
	theirs, err := CreateToken(context.Background(), rg.st, NewToken{Name: "ig-lead", Scopes: []Scope{ScopeRead}, For: igAdmin, By: "cli:ops"})
	if err != nil {
		t.Fatal(err)
	}
	system := rg.token(t, "dashboard", 0, ScopeRead)
	if resp, _ := rg.call(t, "/_caldicott/admin/v1/rooms/x", theirs); resp.StatusCode != http.StatusOK {
		t.Fatalf("their token while an IG admin: %d", resp.StatusCode)
	}
	if status, _ := get(t, b, rg.srv.URL+"/_caldicott/"); status != http.StatusOK {
		t.Fatalf("their page while an IG admin: %d", status)
	}

	rg.demoted.Store(true)
	if status, _ := get(t, b, rg.srv.URL+"/_caldicott/"); status != http.StatusSeeOther {
		t.Fatalf("their page once removed: %d, want a redirect to sign in", status)
	}
	if status, _, _ := post(t, b, rg.srv.URL+"/_caldicott/holds", url.Values{"csrf": {"x"}}); status != http.StatusUnauthorized {
		t.Fatalf("a form once removed: %d, want 401", status)
	}
	ended := rg.audits(t, ActionSessionEnded)
	if len(ended) != 1 || ended[0].Actor != igAdmin || !strings.Contains(ended[0].Reason, "no longer one of the trust's IG admins") {
		t.Errorf("session end audited: %+v", ended)
	}
	resp, body := rg.call(t, "/_caldicott/admin/v1/rooms/x", theirs)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body["error"].(string), "no longer one of the trust's IG admins") {
		t.Fatalf("their token once removed: %d %v; want 401 saying why", resp.StatusCode, body)
	}
	if e := rg.lastAudit(t); e.Action != ActionAPIRefused || e.Actor != "token:ig-lead" || !strings.Contains(e.Detail, `"for":"`+igAdmin+`"`) {
		t.Errorf("the refusal audited as %s by %s: %s", e.Action, e.Actor, e.Detail)
	}
	if resp, _ := rg.call(t, "/_caldicott/admin/v1/rooms/x", system); resp.StatusCode != http.StatusOK {
		t.Errorf("a system's token: %d", resp.StatusCode)
	}
}
