package policy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The rules must stay pure. This fails if policy, directly or through any
// dependency, pulls in network, database or process I/O, or Caldicott's own
// I/O packages.
func TestPolicyImportsNoIO(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"net/http", "database/sql", "os/exec", "github.com/lib/pq", "modernc.org/sqlite",
		"maunium.net/go/mautrix", "github.com/caldicott/caldicott/store",
		"github.com/caldicott/caldicott/appservice", "github.com/caldicott/caldicott/bridges",
	}
	for _, dep := range strings.Fields(string(out)) {
		// database/sql/driver holds only interfaces (gomatrixserverlib/spec
		// implements driver.Valuer on its ID types); the rules never open a database.
		if dep == "database/sql/driver" {
			continue
		}
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("policy depends on %s; rules must do no I/O", dep)
			}
		}
	}
}

// Time is an input to the rules, never read inside them.
func TestPolicyReadsNoClock(t *testing.T) {
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
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" && (sel.Sel.Name == "Now" || sel.Sel.Name == "Since" || sel.Sel.Name == "Until") {
				t.Errorf("%s: reads the clock (time.%s); pass the time in instead", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "os" {
				t.Errorf("%s: uses package os; rules must do no I/O", fset.Position(sel.Pos()))
			}
			return true
		})
	}
}
