package policylist

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The list decides; it never acts. This fails if the package, directly or
// through a dependency, pulls in network, database or process I/O, a Matrix
// client, or Caldicott's own I/O packages — and if it imports anything
// beyond the standard library and the two matching helpers it is meant to.
func TestPolicyListImportsNoIO(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := map[string]bool{"go.mau.fi/util/glob": true, "github.com/matrix-org/gomatrixserverlib/spec": true}
	for _, imp := range strings.Fields(string(out)) {
		if strings.Contains(strings.Split(imp, "/")[0], ".") && !allowed[imp] {
			t.Errorf("policylist imports %s; it may import only the standard library, glob and spec", imp)
		}
	}
	out, err = exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"net/http", "database/sql", "os/exec", "github.com/lib/pq", "modernc.org/sqlite",
		"maunium.net/go/mautrix", "github.com/caldicott/caldicott",
	}
	for _, dep := range strings.Fields(string(out)) {
		// database/sql/driver holds only interfaces (spec's ID types
		// implement driver.Valuer); nothing here opens a database.
		if dep == "database/sql/driver" || dep == "github.com/caldicott/caldicott/policylist" {
			continue
		}
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("policylist depends on %s; it must do no I/O", dep)
			}
		}
	}
}

// Time and the outside world are the caller's business.
func TestPolicyListReadsNoClockOrOS(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && (id.Name == "time" || id.Name == "os") {
				t.Errorf("%s: uses %s.%s; the list must not read the clock or do I/O", fset.Position(sel.Pos()), id.Name, sel.Sel.Name)
			}
			return true
		})
	}
}
