package main

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// TestProductionBinaryHasNoTestHooks builds caldicott with the production tags (as `make build`; without -trimpath, so the build cache serves it)
// and fails if the binary holds test-only code: internal/audittamper (which
// drops the audit log's triggers and runs any SQL) or any *ForTest symbol of ours.
// Such code once lived on store.Store, in every production binary.
func TestProductionBinaryHasNoTestHooks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole binary")
	}
	bin := filepath.Join(t.TempDir(), "caldicott")
	if out, err := exec.Command("go", "build", "-tags", "goolm", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "tool", "nm", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool nm: %v\n%s", err, out)
	}
	symbols := string(out)
	// Not vacuous: the store's real audit code is there.
	if !strings.Contains(symbols, "caldicott/store.(*Store).VerifyAudit") {
		t.Fatal("nm shows no store.(*Store).VerifyAudit; the check below would prove nothing")
	}
	for _, line := range strings.Split(symbols, "\n") {
		ours := strings.Contains(line, "github.com/caldicott/caldicott/")
		if ours && (strings.Contains(line, "caldicott/internal/audittamper") || strings.Contains(line, "ForTest")) {
			t.Errorf("test-only code in the production binary: %s", strings.TrimSpace(line))
		}
	}
}

// TestNoTestHooksInProductionSource is the cheap half, and catches what the
// linker would prune from the binary (an unused method is dropped, so nm
// alone cannot see a door that nothing calls yet): the production build of
// caldicott does not depend on internal/audittamper, and no non-test Go
// file in the module declares a *ForTest function or method.
func TestNoTestHooksInProductionSource(t *testing.T) {
	deps := gosource.Deps(t, ".", "goolm")
	if !slices.Contains(deps, "github.com/caldicott/caldicott/store") {
		t.Fatal("go list shows no dependency on store; the check below would prove nothing")
	}
	if slices.Contains(deps, "github.com/caldicott/caldicott/internal/audittamper") {
		t.Error("the production build of caldicott imports internal/audittamper")
	}
	tree := gosource.Module(t)
	for _, fn := range gosource.Funcs(tree.Files) {
		if strings.Contains(fn.Decl.Name.Name, "ForTest") {
			t.Errorf("%s: %s is test-only code in a production file; put it in a _test.go file or a package only tests import (internal/audittamper)", tree.Where(fn.File, fn.Decl), fn.Name())
		}
	}
}
