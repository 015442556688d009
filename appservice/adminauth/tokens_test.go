package adminauth

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/config"
)

// TestRequireToken: a token is let in only with the scope the route
// needs (read does not imply export), never once revoked or expired; the
// legacy shared token is the "legacy" token with the export scope only;
// every refusal is a Matrix-style JSON error, and audited by the token's
// name once the caller is known.
func TestRequireToken(t *testing.T) {
	rg := newRig(t, func(c *config.AdminAPI) { c.Token = strings.Repeat("L", 40) })
	ctx := context.Background()
	reader := rg.token(t, "dashboard", 0, ScopeRead)
	exporter := rg.token(t, "ig-exports", 0, ScopeExport)
	both := rg.token(t, "ig-lead", 90*24*time.Hour, ScopeRead, ScopeExport)
	revoked := rg.token(t, "old", 0, ScopeRead)
	if err := RevokeToken(ctx, rg.st, "old", "cli:ops"); err != nil {
		t.Fatal(err)
	}
	short := rg.token(t, "short", time.Hour, ScopeRead)
	rg.clock.advance(2 * time.Hour) // short has expired

	read, export := "/_caldicott/admin/v1/rooms/!abc:trust-a.example", "/_caldicott/admin/v1/export"
	tests := []struct {
		name, path, token string
		status            int
		errcode, actor    string
	}{
		{"no token", read, "", http.StatusUnauthorized, "M_MISSING_TOKEN", "admin_api"},
		{"unknown token", read, "cdt_nothing", http.StatusUnauthorized, "M_UNKNOWN_TOKEN", "admin_api"},
		{"read on read", read, reader, http.StatusOK, "", "token:dashboard"},
		{"read on export", export, reader, http.StatusForbidden, "M_FORBIDDEN", "token:dashboard"},
		{"export on read", read, exporter, http.StatusForbidden, "M_FORBIDDEN", "token:ig-exports"},
		{"export on export", export, exporter, http.StatusOK, "", "token:ig-exports"},
		{"both on read", read, both, http.StatusOK, "", "token:ig-lead"},
		{"revoked", read, revoked, http.StatusUnauthorized, "M_UNKNOWN_TOKEN", "token:old"},
		{"expired", read, short, http.StatusUnauthorized, "M_UNKNOWN_TOKEN", "token:short"},
		{"legacy on export", export, strings.Repeat("L", 40), http.StatusOK, "", "token:legacy"},
		{"legacy on read", read, strings.Repeat("L", 40), http.StatusForbidden, "M_FORBIDDEN", "token:legacy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rg.call(t, tt.path, tt.token)
			if resp.StatusCode != tt.status || (tt.errcode != "" && body["errcode"] != tt.errcode) {
				t.Fatalf("%d %v; want %d %s", resp.StatusCode, body, tt.status, tt.errcode)
			}
			if tt.status == http.StatusOK && body["token"] != strings.TrimPrefix(tt.actor, "token:") {
				t.Errorf("TokenName in the handler: %v, want %s", body["token"], tt.actor)
			}
			e := rg.lastAudit(t)
			wantAction := ActionAPIRefused
			if tt.status == http.StatusOK {
				wantAction = ActionAPICall
			}
			if e.Actor != tt.actor || e.Action != wantAction || !strings.Contains(e.Detail, `"status":`+itoa(tt.status)) {
				t.Errorf("audited %s %s %s; want %s by %s with status %d", e.Action, e.Actor, e.Detail, wantAction, tt.actor, tt.status)
			}
		})
	}
}

// TestTokenCallAudit: one audit entry per call, naming the route pattern
// (not the room in the path) and of the query the identifiers only, free
// text counted only; last used is written at most once a minute.
func TestTokenCallAudit(t *testing.T) {
	rg := newRig(t, nil)
	ctx := context.Background()
	reader := rg.token(t, "dashboard", 0, ScopeRead)
	before := len(rg.audits(t, ActionAPICall))
	resp, _ := rg.call(t, "/_caldicott/admin/v1/rooms/!secretroom:trust-a.example?user=@bob:trust-a.example&q=Mrs+Jones+bed+4", reader)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	calls := rg.audits(t, ActionAPICall)
	if len(calls) != before+1 {
		t.Fatalf("%d entries for one call", len(calls)-before)
	}
	e := calls[len(calls)-1]
	for _, want := range []string{`"route":"/_caldicott/admin/v1/rooms/{room}"`, `"method":"GET"`, `"user":"@bob:trust-a.example"`, `"other_parameters":1`, `"token":"dashboard"`} {
		if !strings.Contains(e.Detail, want) {
			t.Errorf("audit detail %s lacks %s", e.Detail, want)
		}
	}
	if strings.Contains(e.Detail+e.Reason, "Jones") || strings.Contains(e.Detail+e.Reason, "secretroom") {
		t.Errorf("free text or the path's values reached the audit log: %s %s", e.Reason, e.Detail)
	}
	lastUsed := func() time.Time {
		list, err := rg.st.AdminTokens(ctx)
		if err != nil || len(list) != 1 {
			t.Fatal(list, err)
		}
		return list[0].LastUsedAt
	}
	first := lastUsed()
	if !first.Equal(rg.clock.now()) {
		t.Fatalf("last used %s, want %s", first, rg.clock.now())
	}
	rg.clock.advance(30 * time.Second)
	rg.call(t, "/_caldicott/admin/v1/rooms/x", reader)
	if !lastUsed().Equal(first) {
		t.Error("last used written again within the minute")
	}
	rg.clock.advance(31 * time.Second)
	rg.call(t, "/_caldicott/admin/v1/rooms/x", reader)
	if !lastUsed().Equal(rg.clock.now()) {
		t.Error("last used not written after a minute")
	}
}

// TestTokenRateLimit: beyond its burst a token gets 429 with Retry-After,
// the first refusal of a run audited and the rest not; calls resume as
// the bucket refills; another token is not held up.
func TestTokenRateLimit(t *testing.T) {
	rg := newRig(t, func(c *config.AdminAPI) { c.RateLimit = config.RateLimit{PerMinute: 6, Burst: 2} })
	busy := rg.token(t, "busy", 0, ScopeRead)
	calm := rg.token(t, "calm", 0, ScopeRead)
	for i := range 2 {
		if resp, _ := rg.call(t, "/_caldicott/admin/v1/rooms/x", busy); resp.StatusCode != http.StatusOK {
			t.Fatalf("call %d within the burst: %d", i+1, resp.StatusCode)
		}
	}
	for range 3 {
		resp, body := rg.call(t, "/_caldicott/admin/v1/rooms/x", busy)
		if resp.StatusCode != http.StatusTooManyRequests || body["errcode"] != "M_LIMIT_EXCEEDED" || resp.Header.Get("Retry-After") != "10" {
			t.Fatalf("over the limit: %d %v Retry-After %q; want 429 M_LIMIT_EXCEEDED, 10", resp.StatusCode, body, resp.Header.Get("Retry-After"))
		}
	}
	if got := len(rg.audits(t, ActionAPIRefused)); got != 1 {
		t.Errorf("%d refusals audited for one run of them; want 1", got)
	}
	if resp, _ := rg.call(t, "/_caldicott/admin/v1/rooms/x", calm); resp.StatusCode != http.StatusOK {
		t.Errorf("another token held up: %d", resp.StatusCode)
	}
	rg.clock.advance(10 * time.Second)
	if resp, _ := rg.call(t, "/_caldicott/admin/v1/rooms/x", busy); resp.StatusCode != http.StatusOK {
		t.Errorf("after Retry-After: %d", resp.StatusCode)
	}
}

// TestCreateTokenRefuses: bad names, the reserved name, no scope, an
// unknown scope, a bad person, a duplicate: each an error, nothing stored.
func TestCreateTokenRefuses(t *testing.T) {
	rg := newRig(t, nil)
	ctx := context.Background()
	rg.token(t, "siem", 0, ScopeRead)
	if _, err := ParseScopes([]string{"read", "admin"}); err == nil || !strings.Contains(err.Error(), `unknown scope "admin"`) {
		t.Errorf("unknown scope: %v", err)
	}
	if got, err := ParseScopes([]string{"export", "READ", "read"}); err != nil || len(got) != 2 || got[0] != ScopeRead || got[1] != ScopeExport {
		t.Errorf("ParseScopes: %v %v", got, err)
	}
	for _, n := range []NewToken{
		{Name: "Bad Name", Scopes: []Scope{ScopeRead}},
		{Name: LegacyTokenName, Scopes: []Scope{ScopeRead}},
		{Name: "none"},
		{Name: "person", Scopes: []Scope{ScopeRead}, For: "bob"},
		{Name: "siem", Scopes: []Scope{ScopeExport}},
	} {
		if _, err := CreateToken(ctx, rg.st, n); err == nil {
			t.Errorf("%+v was made", n)
		}
	}
	if list, _ := rg.st.AdminTokens(ctx); len(list) != 1 {
		t.Errorf("%d tokens stored; want only siem", len(list))
	}
	if err := RevokeToken(ctx, rg.st, "nobody", "cli:ops"); err == nil {
		t.Error("revoked an unknown token")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestStaleTokenRefusalsLimited: a revoked token a script keeps calling
// with is refused 401 and audited only within the address's allowance
// for calls without a valid token; beyond it 429, the first refusal of the
// run audited and the rest not, so the audit log cannot be flooded.
func TestStaleTokenRefusalsLimited(t *testing.T) {
	rg := newRig(t, func(c *config.AdminAPI) { c.SignIn.PerAddressPerHour = 3 })
	stale := rg.token(t, "old", 0, ScopeRead)
	if err := RevokeToken(context.Background(), rg.st, "old", "cli:ops"); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		resp, body := rg.call(t, "/_caldicott/admin/v1/rooms/x", stale)
		want := http.StatusUnauthorized
		if i >= 3 {
			want = http.StatusTooManyRequests
		}
		if resp.StatusCode != want {
			t.Fatalf("call %d: %d %v; want %d", i+1, resp.StatusCode, body, want)
		}
	}
	refused := rg.audits(t, ActionAPIRefused)
	if len(refused) != 4 {
		t.Fatalf("%d refusals audited for 20 calls; want 4 (three 401s, the first 429)", len(refused))
	}
	for _, e := range refused {
		if e.Actor != "token:old" {
			t.Errorf("refusal audited as %s", e.Actor)
		}
	}
	if !strings.Contains(refused[3].Detail, `"status":429`) {
		t.Errorf("the last audited refusal: %s", refused[3].Detail)
	}
}
