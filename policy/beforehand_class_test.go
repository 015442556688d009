package policy

import (
	"strings"
	"testing"
)

func TestPolicyEditGate(t *testing.T) {
	tests := []struct {
		name     string
		current  Class
		content  map[string]any
		igAdmin  bool
		allow    bool
		reasonIn string
	}{
		{"clinical to social", Clinical, map[string]any{"class": "social"}, false, false, "`!policy classify <class> <reason>`"},
		{"clinical to operational", Clinical, map[string]any{"class": "operational"}, false, false, "the IG team's decision"},
		{"class removed", Clinical, map[string]any{"allowed_roles": []any{"doctor"}}, false, false, "IG team"},
		{"content emptied", Clinical, map[string]any{}, false, false, "IG team"},
		{"class not a string", Clinical, map[string]any{"class": 3.0}, false, false, "IG team"},
		{"unknown class", Clinical, map[string]any{"class": "secret"}, false, false, "IG team"},
		{"class in capitals stays clinical", Clinical, map[string]any{"class": "Clinical"}, false, true, ""},
		{"roles changed, still clinical", Clinical, map[string]any{"class": "clinical", "allowed_roles": []any{"nurse"}}, false, true, ""},
		{"IG admin of the room's trust", Clinical, map[string]any{"class": "social"}, true, true, ""},
		{"social to clinical", Social, map[string]any{"class": "clinical"}, false, true, ""},
		{"unclassified to social", Unclassified, map[string]any{"class": "social"}, false, true, ""},
		{"social emptied", Social, map[string]any{}, false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := PolicyEditGate(tt.current, tt.content, tt.igAdmin)
			if d.Allow != tt.allow || d.Rule != GateClassDowngrade || !strings.Contains(d.Reason, tt.reasonIn) {
				t.Fatalf("PolicyEditGate = %+v; want allow=%v reason~%q", d, tt.allow, tt.reasonIn)
			}
		})
	}
}
