package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// elapsedOnly are the files that may read the wall clock besides the store:
// each measures how long something took or paces work by how recently
// something happened, never a date that a rule, a record or a reply shows.
var elapsedOnly = map[string]string{
	"store/store.go":                      "the one clock itself",
	"appservice/worker/lanes.go":          "task durations and the give-way pacing",
	"appservice/worker/jobs.go":           "job durations in the log",
	"appservice/retention/sweep.go":       "sweep durations (metrics) and pacing",
	"appservice/verification/activity.go": "how long the rooms have been quiet (/sync pacing)",
	"appservice/listener.go":              "connection write deadlines (the network's clock)",
}

// TestOneClock fails when production code reads the wall clock (time.Now,
// time.Since, time.Until) outside the store's clock and the elapsed-time
// measurements above: a date taken from the wall clock meets a date pinned
// by a test, and the test then fails on a different day (as
// TestDeletionStatus did from 1 December 2026).
func TestOneClock(t *testing.T) {
	paths, rels, err := gosource.ProductionFiles("..", func(rel, _ string) bool {
		switch rel {
		case "internal/testenv", "scripts", "e2e", "tools":
			return true // test harnesses, the demo and JS tests
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for i, path := range paths {
		if _, ok := elapsedOnly[rels[i]]; ok {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if ok && pkg.Name == "time" && (sel.Sel.Name == "Now" || sel.Sel.Name == "Since" || sel.Sel.Name == "Until") {
				t.Errorf("%s: time.%s reads the wall clock; read the store's clock (Store.Now, kit.Kit.Now) instead", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
}
