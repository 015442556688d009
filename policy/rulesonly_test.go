package policy

import (
	"go/ast"
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// Decisions are made here and nowhere else: outside policy/ no code builds
// an Action or a Decision by hand, or appends to a decision's actions. It
// calls a rule (or a constructor here) instead. Tests are exempt: they
// build fixtures.
func TestNoDecisionsOutsidePolicy(t *testing.T) {
	tree := gosource.Module(t)
	for _, f := range tree.Select(func(f *gosource.File) bool { return !f.In("policy") }) {
		ast.Inspect(f.AST, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				if name := typeName(n.Type); name == "policy.Action" || name == "policy.Decision" || name == "[]policy.Action" {
					t.Errorf("%s: builds a %s outside policy/; make it a rule there", tree.Where(f, n), name)
				}
			case *ast.AssignStmt:
				for _, lhs := range n.Lhs {
					if sel, ok := lhs.(*ast.SelectorExpr); ok && sel.Sel.Name == "Actions" {
						t.Errorf("%s: changes a decision's actions outside policy/", tree.Where(f, n))
					}
				}
			}
			return true
		})
	}
}

func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			return x.Name + "." + e.Sel.Name
		}
	case *ast.ArrayType:
		return "[]" + typeName(e.Elt)
	}
	return ""
}

// Every rule is named by a constant: an action's Rule is never a string
// literal, so the audit log's rule names can be found from here.
func TestRuleNamesAreConstants(t *testing.T) {
	tree := gosource.Module(t)
	for _, f := range tree.Select(func(f *gosource.File) bool { return f.Dir == "policy" }) {
		ast.Inspect(f.AST, func(n ast.Node) bool {
			kv, ok := n.(*ast.KeyValueExpr)
			if !ok {
				return true
			}
			if key, ok := kv.Key.(*ast.Ident); ok && key.Name == "Rule" {
				if _, lit := kv.Value.(*ast.BasicLit); lit {
					t.Errorf("%s: a rule named by a string literal; declare a constant beside the others (rules.go, hardening.go, gate.go)", tree.Where(f, kv))
				}
			}
			return true
		})
	}
}
