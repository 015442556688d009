package gosource

import (
	"go/ast"
	"slices"
)

// Call is a call of a method or of a package's function: x.Name(args).
type Call struct {
	File *File
	Expr *ast.CallExpr
	Name string   // the selected name
	X    ast.Expr // what it is selected from (a package name or a value)
}

// Pkg is the package's name when the call is pkg.Name(...), else "".
func (c Call) Pkg() string {
	if id, ok := c.X.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// SelectorCalls lists every call of the form x.Name(...) in the files.
func SelectorCalls(files []*File) []Call {
	var out []Call
	for _, f := range files {
		ast.Inspect(f.AST, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
					out = append(out, Call{File: f, Expr: call, Name: sel.Sel.Name, X: sel.X})
				}
			}
			return true
		})
	}
	return out
}

// Use is one selector of an imported package: pkg.Name.
type Use struct {
	File *File
	Sel  *ast.SelectorExpr
}

// Uses lists every use (called or not) of the named members of the package
// imported as path, e.g. Uses(files, "time", "Now", "Since"); with no
// names, every use of the package.
func Uses(files []*File, path string, names ...string) []Use {
	var out []Use
	for _, f := range files {
		local := f.ImportName(path)
		if local == "" || local == "_" || local == "." {
			continue
		}
		ast.Inspect(f.AST, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == local && (len(names) == 0 || slices.Contains(names, sel.Sel.Name)) {
				out = append(out, Use{File: f, Sel: sel})
			}
			return true
		})
	}
	return out
}

// Func is one declared function or method.
type Func struct {
	File *File
	Decl *ast.FuncDecl
}

// Funcs lists every function and method declared in the files (function
// literals count as part of the function that holds them).
func Funcs(files []*File) []Func {
	var out []Func
	for _, f := range files {
		for _, d := range f.AST.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok {
				out = append(out, Func{File: f, Decl: fn})
			}
		}
	}
	return out
}

// Name is the function's name, or Type.Method for a method.
func (fn Func) Name() string {
	if fn.Decl.Recv == nil || len(fn.Decl.Recv.List) == 0 {
		return fn.Decl.Name.Name
	}
	t := fn.Decl.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.Name + "." + fn.Decl.Name.Name
		default:
			return fn.Decl.Name.Name
		}
	}
}
