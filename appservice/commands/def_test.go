package commands

import (
	"context"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/policy"
)

type capability struct{ ran []string }

func (c *capability) cmdStatus(_ context.Context, call *Call) error {
	c.ran = append(c.ran, call.Name)
	return nil
}

// Bind runs each command's handler on the capability it was bound to, and
// a Def without a handler stays without one, so New refuses it at start-up.
func TestBindRunsTheHandlerOnItsCapability(t *testing.T) {
	status := Def[*capability]{
		CommandSpec: policy.CommandSpec{Name: "status", Usage: "!policy status", Summary: "Show status."},
		Doc:         "Shows it.",
		Run:         (*capability).cmdStatus,
	}
	c := &capability{}
	cmds := Bind(c, status)
	if len(cmds) != 1 || cmds[0].CommandSpec != status.CommandSpec || cmds[0].Doc != status.Doc {
		t.Fatalf("Bind = %+v, want the definition's spec and doc", cmds)
	}
	if err := cmds[0].Run(context.Background(), &Call{Name: "status"}); err != nil || len(c.ran) != 1 {
		t.Errorf("Run: err %v, handler ran %v; want it run once on the bound capability", err, c.ran)
	}
	status.Run = nil
	if _, err := New(nil, Bind(c, status)...); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("New with a Def without handler = %v, want it refused as incomplete", err)
	}
}
