package gosource

import (
	"slices"
	"strconv"
	"strings"
)

// Package is one directory's production files and what they import
// (the union over every build tag).
type Package struct {
	Dir     string // slash-separated, from the module root
	Path    string // the import path
	Files   []*File
	Imports []string // sorted, each once
}

// Packages lists the module's packages, in directory order.
func (t *Tree) Packages() []*Package {
	byDir := map[string]*Package{}
	var out []*Package
	for _, f := range t.Files {
		p := byDir[f.Dir]
		if p == nil {
			p = &Package{Dir: f.Dir, Path: t.Module}
			if f.Dir != "." {
				p.Path += "/" + f.Dir
			}
			byDir[f.Dir] = p
			out = append(out, p)
		}
		p.Files = append(p.Files, f)
		p.Imports = append(p.Imports, f.Imports()...)
	}
	for _, p := range out {
		slices.Sort(p.Imports)
		p.Imports = slices.Compact(p.Imports)
	}
	slices.SortFunc(out, func(a, b *Package) int { return strings.Compare(a.Dir, b.Dir) })
	return out
}

// Imports is the import paths of the file.
func (f *File) Imports() []string {
	var out []string
	for _, s := range f.AST.Imports {
		if p, err := strconv.Unquote(s.Path.Value); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// ImportName is the name the file refers to an imported package by (its
// last path element unless renamed), or "" if the file does not import it.
func (f *File) ImportName(path string) string {
	for _, s := range f.AST.Imports {
		if p, _ := strconv.Unquote(s.Path.Value); p != path {
			continue
		}
		if s.Name != nil {
			return s.Name.Name
		}
		return path[strings.LastIndex(path, "/")+1:]
	}
	return ""
}

// IsStandard reports whether an import path is the standard library's
// (its first element has no dot).
func IsStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}
