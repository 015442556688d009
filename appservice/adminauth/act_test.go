package adminauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/store"
)

// TestActTokens: an act is done as the person a token was made for, so
// the act scope lets a call in only with a token made for someone who is
// one of the trust's IG admins now; every other caller is refused 403 in
// plain words, audited with the token's name and person, before the
// handler runs. The handler learns whom it acts as.
func TestActTokens(t *testing.T) {
	rg := newRig(t, nil)
	ctx := context.Background()
	mk := func(name, person string, scopes ...Scope) string {
		secret, err := CreateToken(ctx, rg.st, NewToken{Name: name, Scopes: scopes, For: person, By: "cli:ops"})
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	acting := mk("ig-lead", igAdmin, ScopeAct)
	clinician := mk("clinician", "@nurse:trust-a.example", ScopeAct)
	readOnly := mk("ig-reader", igAdmin, ScopeRead, ScopeExport)
	// A system's act token, as one made before act needed a person was.
	system := tokenPrefix + newSecret()
	if err := rg.st.CreateAdminToken(ctx, store.AdminToken{Name: "old-script", Scopes: []string{string(ScopeAct)}, CreatedAt: rg.st.Now()},
		hashOf("token", system), store.AuditEntry{Actor: "cli:ops", Action: ActionTokenCreated, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	const path = "/_caldicott/admin/v1/rooms/!r:trust-a.example/hold"
	cases := []struct {
		name, token, actor, want string
		status                   int
	}{
		{"an IG admin's act token", acting, "token:ig-lead", `"for":"` + igAdmin + `"`, http.StatusOK},
		{"made for someone not an IG admin", clinician, "token:clinician", "acts as @nurse:trust-a.example, who is not one of this trust's IG admins now", http.StatusForbidden},
		{"made for no one", system, "token:old-script", "made for no one", http.StatusForbidden},
		{"without the act scope", readOnly, "token:ig-reader", "lacks the act scope", http.StatusForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, rg.srv.URL+path, strings.NewReader(`{"reason":"x"}`))
			req.Header.Set("Authorization", "Bearer "+c.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			raw, _ := json.Marshal(body)
			if resp.StatusCode != c.status || !strings.Contains(string(raw), c.want) {
				t.Errorf("%d %s; want %d with %q", resp.StatusCode, raw, c.status, c.want)
			}
			e := rg.lastAudit(t)
			wantAction := ActionAPICall
			if c.status != http.StatusOK {
				wantAction = ActionAPIRefused
			}
			if e.Action != wantAction || e.Actor != c.actor || !strings.Contains(e.Reason, fmt.Sprintf("POST /_caldicott/admin/v1/rooms/{room}/hold: %d", c.status)) {
				t.Errorf("audited %s by %s (%s); want %s by %s", e.Action, e.Actor, e.Reason, wantAction, c.actor)
			}
		})
	}

	rg.demoted.Store(true)
	req, _ := http.NewRequest(http.MethodPost, rg.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+acting)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if e := rg.lastAudit(t); resp.StatusCode != http.StatusForbidden || e.Action != ActionAPIRefused || !strings.Contains(e.Detail, `"for":"`+igAdmin+`"`) {
		t.Errorf("the IG admin's act token once they are not one: %d, audited %s %s", resp.StatusCode, e.Action, e.Detail)
	}
}

// TestActScopeNeedsAPerson: the CLI cannot make a system's act token.
func TestActScopeNeedsAPerson(t *testing.T) {
	rg := newRig(t, nil)
	_, err := CreateToken(context.Background(), rg.st, NewToken{Name: "script", Scopes: []Scope{ScopeRead, ScopeAct}, By: "cli:ops"})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "--for") {
		t.Errorf("an act token for no one: %v", err)
	}
}
