package appservice

import (
	"go/ast"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/caldicott/caldicott/internal/gosource"
	"github.com/caldicott/caldicott/store"
)

// maxDefLine bounds the lines of a command's definition and of the
// registry: long Doc strings are split over lines with +.
const maxDefLine = 120

// handlerElsewhere are the commands whose handler is not in the file of
// their definition, and why. Key: file (from appservice/) and handler.
var handlerElsewhere = map[string]string{
	"verification/verification.go cmdVerify": "one handler per build: sasverify.go (goolm) and e2ee_off.go",
}

// A command is a value (commands.Def) defined beside its handler, in the
// capability that runs it: Run names a method of that package's own type,
// declared in the same file, and appservice/commandlist.go only assembles
// the values. This fails when a command is defined away from its handler,
// built inside a function, left out of the registry or written on lines
// too long to read.
func TestCommandsAreDefinedBesideTheirHandlers(t *testing.T) {
	tree := gosource.Module(t)
	defined := map[string]string{} // command name → file
	fset := tree.Fset
	for _, file := range tree.Select(func(f *gosource.File) bool {
		return f.In("appservice") && !f.In("appservice/commands")
	}) {
		rel := strings.TrimPrefix(file.Rel, "appservice/")
		src, err := os.ReadFile(file.Path)
		if err != nil {
			t.Fatal(err)
		}
		f := file.AST
		methods := declaredMethods(f)
		lines := strings.Split(string(src), "\n")
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			switch typeName(lit.Type) {
			case "commands.Command":
				t.Errorf("%s: a command built as commands.Command; define it as a commands.Def beside its handler", fset.Position(lit.Pos()))
			case "commands.Def":
				name, run := defFields(lit)
				pos := fset.Position(lit.Pos())
				if prev, dup := defined[name]; dup || name == "" {
					t.Errorf("%s: command %q has no literal name or is defined twice (also in %s)", pos, name, prev)
				}
				defined[name] = rel
				checkRun(t, pos, lit, run, methods, rel)
				for l := pos.Line; l <= fset.Position(lit.End()).Line; l++ {
					if n := utf8.RuneCountInString(lines[l-1]); n > maxDefLine {
						t.Errorf("%s:%d: %d characters in command %q's definition (at most %d)", rel, l, n, name, maxDefLine)
					}
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			if fn, ok := n.(*ast.FuncDecl); ok && fn.Body != nil {
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					if lit, ok := n.(*ast.CompositeLit); ok && typeName(lit.Type) == "commands.Def" {
						t.Errorf("%s: a command defined inside %s; make it a package-level value", fset.Position(lit.Pos()), fn.Name.Name)
					}
					return true
				})
			}
			return true
		})
	}
	list, err := os.ReadFile("commandlist.go")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(list), "\n") {
		if n := utf8.RuneCountInString(line); n > maxDefLine {
			t.Errorf("commandlist.go:%d: %d characters (at most %d)", i+1, n, maxDefLine)
		}
	}
	s := newOfflineService(t, store.SQLite, "")
	registered := map[string]bool{}
	for _, c := range s.commands.Commands() {
		registered[c.Name] = true
		if _, ok := defined[c.Name]; !ok {
			t.Errorf("command %q is registered but defined nowhere as a commands.Def", c.Name)
		}
	}
	for name, file := range defined {
		if !registered[name] {
			t.Errorf("command %q (%s) is defined but not in commandList", name, file)
		}
	}
	if len(defined) < 30 {
		t.Errorf("found %d command definitions; the scan is missing some", len(defined))
	}
}

// checkRun: Run is a method expression on the Def's own type argument, a
// type of the defining package, and the method is declared in the file.
func checkRun(t *testing.T, pos token.Position, lit *ast.CompositeLit, run ast.Expr, methods map[string]bool, rel string) {
	t.Helper()
	typeArg := lit.Type.(*ast.IndexExpr).Index
	sel, ok := run.(*ast.SelectorExpr)
	if !ok || types(sel.X) != types(typeArg) || strings.Contains(types(typeArg), ".") {
		t.Errorf("%s: Run must be a method expression such as (*Hardening).cmdStatus on the package's own type %s", pos, types(typeArg))
		return
	}
	if !methods[sel.Sel.Name] {
		if _, ok := handlerElsewhere[filepath.ToSlash(rel)+" "+sel.Sel.Name]; !ok {
			t.Errorf("%s: handler %s is not declared in %s, beside its command", pos, sel.Sel.Name, rel)
		}
	}
}

// defFields reads a Def's Name (inside its CommandSpec) and Run.
func defFields(lit *ast.CompositeLit) (name string, run ast.Expr) {
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		switch key := kv.Key.(*ast.Ident).Name; key {
		case "Run":
			run = kv.Value
		case "CommandSpec":
			spec, _ := kv.Value.(*ast.CompositeLit)
			for _, se := range spec.Elts {
				if skv, ok := se.(*ast.KeyValueExpr); ok && skv.Key.(*ast.Ident).Name == "Name" {
					if bl, ok := skv.Value.(*ast.BasicLit); ok {
						name, _ = strconv.Unquote(bl.Value)
					}
				}
			}
		}
	}
	return name, run
}

// declaredMethods are the names of the methods a file declares.
func declaredMethods(f *ast.File) map[string]bool {
	out := map[string]bool{}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv != nil {
			out[fn.Name.Name] = true
		}
	}
	return out
}

// typeName is pkg.Name of a composite literal's type, without type arguments.
func typeName(e ast.Expr) string {
	if ix, ok := e.(*ast.IndexExpr); ok {
		e = ix.X
	}
	if sel, ok := e.(*ast.SelectorExpr); ok {
		if pkg, ok := sel.X.(*ast.Ident); ok {
			return pkg.Name + "." + sel.Sel.Name
		}
	}
	return ""
}

// types prints a type expression such as *Hardening or (*Hardening).
func types(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return types(e.X)
	case *ast.StarExpr:
		return "*" + types(e.X)
	case *ast.SelectorExpr:
		return types(e.X) + "." + e.Sel.Name
	case *ast.Ident:
		return e.Name
	}
	return "?"
}
