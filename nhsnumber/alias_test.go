package nhsnumber

import "testing"

func TestInAlias(t *testing.T) {
	tests := []struct {
		alias string
		want  bool
	}{
		{"#ward_9434765919", true},
		{"#943_476_5919", true},
		{"#943.476.5919", true},
		{"#943=476=5919", true},
		{"#943-476-5919", true},
		{"#ward-9434765919", true},
		{"#ward.9434765919", true},
		{"#bed4-9434765919", true},
		{"#pt9434765919x", true},
		{"9434765919", true},
		{"bed-four-9434765919", true},
		{"#ward_9434765918", false}, // the check digit does not match
		{"#ward7", false},
		{"#pt943476591", false}, // nine digits
		{"#943-4765919", false}, // not grouped 3-3-4
		{"#ward_94347659190", false},
		{"#tea-club", false},
	}
	for _, tt := range tests {
		if got := InAlias(tt.alias); got != tt.want {
			t.Errorf("InAlias(%q) = %v; want %v", tt.alias, got, tt.want)
		}
	}
}
