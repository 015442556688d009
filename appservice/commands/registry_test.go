package commands

import (
	"context"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/policy"
)

func ok(context.Context, *Call) error { return nil }

// A command without a handler, or registered twice, stops the start, so a
// missing handler never shows as a recovered panic when someone types it.
func TestRegistryRefusesIncompleteOrDuplicateCommands(t *testing.T) {
	status := Command{CommandSpec: policy.CommandSpec{Name: "status", Usage: "!policy status", Summary: "Show status."}, Run: ok}
	tests := []struct {
		name string
		cmds []Command
		want string
	}{
		{"complete", []Command{status}, ""},
		{"no handler", []Command{{CommandSpec: policy.CommandSpec{Name: "x", Usage: "!policy x", Summary: "X."}}}, "incomplete"},
		{"no usage", []Command{{CommandSpec: policy.CommandSpec{Name: "x", Summary: "X."}, Run: ok}}, "incomplete"},
		{"twice", []Command{status, status}, "registered twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(nil, tt.cmds...)
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("New = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestReferenceEscapesAndDescribes(t *testing.T) {
	r, err := New(nil, Command{CommandSpec: policy.CommandSpec{Name: "classify", Usage: "!policy classify a|b", Summary: "S.", Place: policy.InRoom, Needs: policy.RoomPolicyPower}, Doc: "Does it.", Run: ok})
	if err != nil {
		t.Fatal(err)
	}
	ref := r.Reference()
	if !strings.Contains(ref, "`!policy classify a\\|b` | the room | room admins") || !strings.Contains(ref, "Does it.") {
		t.Errorf("reference:\n%s", ref)
	}
	if !strings.Contains(r.Help(), "!policy classify a|b") {
		t.Errorf("help:\n%s", r.Help())
	}
}
