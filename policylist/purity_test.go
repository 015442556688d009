package policylist

import (
	"slices"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// The list decides; it never acts. This fails if the package, directly or
// through a dependency, pulls in network, database or process I/O, a Matrix
// client, or any package of Caldicott's. What it imports directly is the
// docs/architecture.md table's business (internal/structure).
func TestPolicyListImportsNoIO(t *testing.T) {
	deps := gosource.Deps(t, ".")
	for _, dep := range gosource.IODeps(deps) {
		t.Errorf("policylist depends on %s; it must do no I/O", dep)
	}
	self := "github.com/caldicott/caldicott/policylist"
	if !slices.Contains(deps, self) {
		t.Fatalf("go list -deps does not list %s itself; the check below would prove nothing", self)
	}
	for _, dep := range deps {
		if dep != self && strings.HasPrefix(dep, "github.com/caldicott/caldicott/") {
			t.Errorf("policylist depends on %s; it stands alone", dep)
		}
	}
}

// Time and the outside world are the caller's business.
func TestPolicyListReadsNoClockOrOS(t *testing.T) {
	tree := gosource.Module(t)
	files := tree.Select(func(f *gosource.File) bool { return f.Dir == "policylist" })
	for _, path := range []string{"time", "os"} {
		for _, u := range gosource.Uses(files, path) {
			t.Errorf("%s: uses %s.%s; the list must not read the clock or do I/O", tree.Where(u.File, u.Sel), path, u.Sel.Sel.Name)
		}
	}
}
