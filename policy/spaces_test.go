package policy

import "testing"

func TestSpaceLinkProblem(t *testing.T) {
	tests := []struct {
		space, room Class
		bad         bool
	}{
		{Social, Clinical, true}, {Operational, Clinical, true}, {Clinical, Social, true},
		{Clinical, Clinical, false}, {Clinical, Operational, false}, {Social, Social, false},
		{Social, Operational, false}, {Operational, Social, false},
		{Unclassified, Clinical, false}, {Clinical, Unclassified, false},
	}
	for _, tt := range tests {
		if got := SpaceLinkProblem(tt.space, tt.room); (got != "") != tt.bad {
			t.Errorf("space %q room %q: %q", tt.space, tt.room, got)
		}
	}
}
