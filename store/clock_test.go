package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
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
	root := ".."
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch rel {
			case ".git", "internal/testenv", "scripts", "e2e", "tools":
				return filepath.SkipDir // test harnesses, the demo and JS tests
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		if _, ok := elapsedOnly[rel]; ok {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
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
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
