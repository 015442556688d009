package main

import (
	"go/ast"
	"go/parser"
	"go/token"
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
	out, err := exec.Command("go", "list", "-tags", "goolm", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/caldicott/caldicott/store") {
		t.Fatal("go list shows no dependency on store; the check below would prove nothing")
	}
	if slices.Contains(deps, "github.com/caldicott/caldicott/internal/audittamper") {
		t.Error("the production build of caldicott imports internal/audittamper")
	}
	root := filepath.Join("..", "..")
	paths, _, err := gosource.ProductionFiles(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := 0
	for _, path := range paths {
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		seen++
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && strings.Contains(fn.Name.Name, "ForTest") {
				t.Errorf("%s: %s is test-only code in a production file; put it in a _test.go file or a package only tests import (internal/audittamper)", fset.Position(fn.Pos()), fn.Name.Name)
			}
		}
	}
	if seen < 50 {
		t.Fatalf("walked only %d Go files from %s", seen, root)
	}
}
