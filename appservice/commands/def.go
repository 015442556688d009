package commands

import (
	"context"

	"github.com/caldicott/caldicott/policy"
)

// Def is a command as a value, defined beside its handler in the
// capability T that runs it (as bridgev2 defines CommandLogin beside
// fnLogin): Run is a method expression such as (*Hardening).cmdStatus.
// The registry only assembles Defs, through Bind, in help order.
type Def[T any] struct {
	policy.CommandSpec
	// Doc is the command's entry in docs/commands.md: what it does, in full.
	Doc string
	Run func(T, context.Context, *Call) error
}

// Bind makes commands of defs, each run by capability t.
func Bind[T any](t T, defs ...Def[T]) []Command {
	out := make([]Command, len(defs))
	for i, d := range defs {
		out[i] = Command{CommandSpec: d.CommandSpec, Doc: d.Doc}
		if run := d.Run; run != nil { // nil stays nil: New refuses it
			out[i].Run = func(ctx context.Context, c *Call) error { return run(t, ctx, c) }
		}
	}
	return out
}
