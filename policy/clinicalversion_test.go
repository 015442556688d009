package policy

import (
	"strings"
	"testing"
)

func TestClinicalVersionGate(t *testing.T) {
	tests := []struct {
		name     string
		to       Class
		version  string
		creators bool
		allow    bool
		says     string
	}{
		{"clinical, version 10", Clinical, "10", false, true, ""},
		{"clinical, version 11", Clinical, "11", false, true, ""},
		{"clinical, no version named (1)", Clinical, "", false, true, ""},
		{"clinical, version 12", Clinical, "12", false, false, "version 12 the room's creators stand above every power level"},
		{"clinical, version 13", Clinical, "13", false, false, "up to 11"},
		{"clinical, an experimental version", Clinical, "org.matrix.hydra.11", false, false, "a room version I can guard"},
		{"clinical, a version that is no number", Clinical, "0", false, false, "a room version I can guard"},
		{"clinical, additional creators", Clinical, "10", true, false, "cannot name additional creators"},
		{"social, version 12", Social, "12", true, true, ""},
		{"operational, version 12", Operational, "12", false, true, ""},
		{"unclassified, version 12", Unclassified, "12", false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ClinicalVersionGate(tt.to, tt.version, tt.creators)
			if d.Allow != tt.allow || d.Rule != GateClinicalVersion || !strings.Contains(d.Reason, tt.says) {
				t.Fatalf("ClinicalVersionGate(%s, %q, %v) = %+v; want allow %v saying %q", tt.to, tt.version, tt.creators, d, tt.allow, tt.says)
			}
		})
	}
}

func TestNamesAdditionalCreators(t *testing.T) {
	tests := []struct {
		name     string
		creation map[string]any
		want     bool
	}{
		{"none", map[string]any{"room_version": "10"}, false},
		{"nil content", nil, false},
		{"named", map[string]any{"additional_creators": []any{"@x:a"}}, true},
		{"named, key in another case", map[string]any{"Additional_Creators": []any{"@x:a"}}, true},
		{"empty list", map[string]any{"additional_creators": []any{}}, true},
		{"null", map[string]any{"additional_creators": nil}, false},
	}
	for _, tt := range tests {
		if got := NamesAdditionalCreators(tt.creation); got != tt.want {
			t.Errorf("%s: NamesAdditionalCreators(%v) = %v; want %v", tt.name, tt.creation, got, tt.want)
		}
	}
}
