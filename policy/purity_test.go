package policy

import (
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// The rules must stay pure. This fails if policy, directly or through any
// dependency, pulls in network, database or process I/O, or Caldicott's own
// I/O packages.
func TestPolicyImportsNoIO(t *testing.T) {
	for _, dep := range gosource.IODeps(gosource.Deps(t, ".")) {
		t.Errorf("policy depends on %s; rules must do no I/O", dep)
	}
}

// Time is an input to the rules, never read inside them.
func TestPolicyReadsNoClock(t *testing.T) {
	tree := gosource.Module(t)
	files := tree.Select(func(f *gosource.File) bool { return f.Dir == "policy" })
	for _, u := range gosource.Uses(files, "time", "Now", "Since", "Until") {
		t.Errorf("%s: reads the clock (time.%s); pass the time in instead", tree.Where(u.File, u.Sel), u.Sel.Sel.Name)
	}
	for _, u := range gosource.Uses(files, "os") {
		t.Errorf("%s: uses package os; rules must do no I/O", tree.Where(u.File, u.Sel))
	}
}
