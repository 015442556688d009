package adminauth

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAuditedQueryShapes: a query parameter's value reaches the audit log
// only in its expected form (a Matrix ID, a room ID, a date, a small
// number); otherwise it is recorded as malformed, and unknown parameters
// only as a count — so a name and NHS number planted in a value or a
// parameter's name never reach it, for refused calls as for admitted ones.
func TestAuditedQueryShapes(t *testing.T) {
	rg := newRig(t, nil)
	exporter := rg.token(t, "ig-exports", 0, ScopeExport)
	planted := "/_caldicott/admin/v1/export?user=Jane%20Doe%209434765919&9434765919=&Jane+Doe=1&since=9434765919&until=2026-12-31&room=!abc:trust-a.example&limit=9434765919&requested_by=Jane+Doe"
	for _, token := range []string{"", "cdt_unknown", exporter} {
		rg.call(t, planted, token)
		e := rg.lastAudit(t)
		if strings.Contains(e.Detail+e.Reason, "9434765919") || strings.Contains(e.Detail+e.Reason, "Jane") {
			t.Errorf("with token %q the planted patient data reached the audit log: %s %s", token, e.Reason, e.Detail)
		}
		var detail struct {
			Query map[string]any `json:"query"`
		}
		if err := json.Unmarshal([]byte(e.Detail), &detail); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"user": queryMalformed, "since": queryMalformed, "limit": queryMalformed, "until": "2026-12-31",
			"room": "!abc:trust-a.example", "requested_by": queryNotKept, queryOtherCount: float64(2)}
		for k, v := range want {
			if detail.Query[k] != v {
				t.Errorf("with token %q query[%s] = %v, want %v (all: %v)", token, k, detail.Query[k], v, detail.Query)
			}
		}
		if len(detail.Query) != len(want) {
			t.Errorf("with token %q query %v, want only %v", token, detail.Query, want)
		}
	}
	tests := []struct {
		key, value string
		kept       bool
	}{
		{"user", "@jane.doe:trust-a.example", true},
		{"user", "jane.doe", false},
		{"room", "!AbC123:trust-a.example", true},
		{"room", "! Jane Doe", false},
		{"trust", "trust-a.example:8448", true},
		{"trust", "Jane Doe", false},
		{"since", "2026-01-01", true},
		{"since", "2026-01-01T09:00:00Z", true},
		{"since", "1 Jan 2026", false},
		{"limit", "100", true},
		{"limit", "9434765919", false},
		{"scope", "export", true},
		{"scope", "jones", false},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest(http.MethodGet, "/x?"+tt.key+"="+strings.ReplaceAll(tt.value, " ", "+"), nil)
		got := auditedQuery(r)[tt.key]
		if kept := got == tt.value; kept != tt.kept || (!kept && got != queryMalformed) {
			t.Errorf("%s=%q recorded as %v; kept should be %v", tt.key, tt.value, got, tt.kept)
		}
	}
}
