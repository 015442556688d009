package structure

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// TestImportsMatchArchitecture reads docs/architecture.md's table of
// packages and what each may import, and compares it with the code both
// ways: a package whose row is missing, a row naming a package that does
// not exist, an import (of ours, or outside the standard library) the row
// does not allow, and an allowance the package does not use all fail. So
// the page states exactly what the code imports, and an import that
// points the wrong way needs the page changed in the same commit.
// Imports are read from every production file whatever its build tags.
func TestImportsMatchArchitecture(t *testing.T) {
	tree := gosource.Module(t)
	outside := outsideModules(t)
	allowed := packageRows(t, tree, outside)
	for _, p := range tree.Packages() {
		a, ok := allowed[p.Dir]
		if !ok {
			t.Errorf("package %s has no row in %s's table of packages; add one (what it holds, what it may import)", p.Dir, archDoc)
			continue
		}
		used := map[string]bool{}
		for _, imp := range p.Imports {
			name, ok := a.match(tree.Module, imp)
			switch {
			case ok:
				used[name] = true
			case gosource.IsStandard(imp):
			default:
				t.Errorf("%s imports %s, which its row (%s) does not allow; change the import or, if it is right, the row", p.Dir, imp, a.row.where())
			}
		}
		for _, name := range a.names {
			if !used[name] {
				t.Errorf("%s: %s may import `%s` but imports nothing of it; take it out of the row", a.row.where(), p.Dir, name)
			}
		}
	}
	for name := range outside {
		if !slices.ContainsFunc(tree.Packages(), func(p *gosource.Package) bool { return slices.Contains(allowed[p.Dir].names, name) }) {
			t.Errorf("%s: the outside module `%s` is allowed to no package; take it out of the list", archDoc, name)
		}
	}
	capabilitiesStandApart(t, allowed)
}

// allowance is one package's row: the names it may import, each resolved
// to an import path (a package of ours, or an outside module's prefix).
type allowance struct {
	row   row
	names []string
	ours  map[string]string   // name → the import path of our package
	pref  map[string][]string // name → an outside module's path prefixes
}

// match is the row's name that allows imp, if any.
func (a allowance) match(module, imp string) (string, bool) {
	for name, path := range a.ours {
		if imp == path {
			return name, true
		}
	}
	// The longest prefix wins, so `spec` and `gomatrixserverlib` both
	// allowed count where each is used.
	best, bestLen := "", 0
	for name, prefixes := range a.pref {
		for _, prefix := range prefixes {
			if (imp == prefix || strings.HasPrefix(imp, prefix+"/")) && len(prefix) > bestLen {
				best, bestLen = name, len(prefix)
			}
		}
	}
	return best, bestLen > 0
}

// outsideModules reads the page's list of outside modules: a short name
// and the import paths it stands for (each path and everything below it).
func outsideModules(t *testing.T) map[string][]string {
	out := map[string][]string{}
	for _, r := range table(t, "### Outside modules") {
		n, paths := names(r.cells[0]), names(r.cells[1])
		if len(n) != 1 || len(paths) == 0 {
			t.Errorf("%s: a row of the outside modules wants one `name` and its `import path`s", r.where())
			continue
		}
		for _, p := range paths {
			if gosource.IsStandard(p) {
				t.Errorf("%s: %s is the standard library's, which every package may import", r.where(), p)
			}
		}
		out[n[0]] = paths
	}
	return out
}

// packageRows reads the table of packages: the first cell names a package
// of ours (a directory of the module), the third what it may import, as
// code spans naming our packages or outside modules; the words between
// are for the reader. "—" or no code span: only the standard library.
func packageRows(t *testing.T, tree *gosource.Tree, outside map[string][]string) map[string]allowance {
	exists := map[string]bool{}
	for _, p := range tree.Packages() {
		exists[p.Dir] = true
	}
	rows := map[string]allowance{}
	for _, r := range table(t, "## Packages") {
		if len(r.cells) < 3 {
			t.Errorf("%s: a row of the packages table wants three cells", r.where())
			continue
		}
		pkgs := names(r.cells[0])
		if len(pkgs) != 1 {
			t.Errorf("%s: the first cell should name one package in a code span", r.where())
			continue
		}
		dir := strings.TrimSuffix(pkgs[0], "/")
		if !exists[dir] {
			t.Errorf("%s: the row names %s, which is no package of the module (renamed or removed?)", r.where(), dir)
			continue
		}
		if _, dup := rows[dir]; dup {
			t.Errorf("%s: a second row for %s", r.where(), dir)
		}
		a := allowance{row: r, ours: map[string]string{}, pref: map[string][]string{}}
		for _, n := range names(r.cells[2]) {
			name := strings.TrimSuffix(n, "/")
			switch {
			case exists[name]:
				a.ours[name] = tree.Module + "/" + name
			case outside[name] != nil:
				a.pref[name] = outside[name]
			default:
				t.Errorf("%s: %s may import `%s`, which is neither a package of the module nor an outside module the page lists", r.where(), dir, n)
				continue
			}
			a.names = append(a.names, name)
		}
		rows[dir] = a
	}
	return rows
}

// capabilitiesStandApart: the capabilities (the packages built on
// appservice/kit below appservice/) never import one another; they meet through interfaces
// wired in package appservice.
func capabilitiesStandApart(t *testing.T, allowed map[string]allowance) {
	var caps []string
	for dir, a := range allowed {
		if _, ok := a.ours["appservice/kit"]; ok && strings.HasPrefix(dir, "appservice/") {
			caps = append(caps, dir)
		}
	}
	sort.Strings(caps)
	if len(caps) < 5 {
		t.Fatalf("only %d packages may import appservice/kit (%v); the table no longer says which are capabilities", len(caps), caps)
	}
	for _, c := range caps {
		for _, other := range caps {
			if _, ok := allowed[c].ours[other]; ok && other != c {
				t.Errorf("%s: capability %s may import capability %s; capabilities meet through interfaces wired in appservice", allowed[c].row.where(), c, other)
			}
		}
	}
}
