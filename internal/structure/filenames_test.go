package structure

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// TestNoFileNamedLikeASiblingPackage: a file X.go beside a package
// directory X/ reads as part of that package (appservice/worker.go once
// held the inbox dispatcher beside package appservice/worker). Test files
// count too: X_test.go beside X/ misleads the same way (the end-to-end
// tests of a capability, in package appservice, are X_e2e_test.go).
func TestNoFileNamedLikeASiblingPackage(t *testing.T) {
	tree := gosource.Module(t)
	dirs := map[string]bool{}
	for _, p := range tree.Packages() {
		dirs[p.Dir] = true
	}
	checked := 0
	for dir := range dirs {
		entries, err := os.ReadDir(filepath.Join(tree.Root, filepath.FromSlash(dir)))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name, ok := strings.CutSuffix(e.Name(), ".go")
			if e.IsDir() || !ok {
				continue
			}
			checked++
			name = strings.TrimSuffix(name, "_test")
			if sibling := path.Join(dir, name); dirs[sibling] {
				t.Errorf("%s/%s sits beside package %s/: name the file for what it holds", dir, e.Name(), sibling)
			}
		}
	}
	if checked < 100 {
		t.Fatalf("checked %d files; the walk is missing the tree", checked)
	}
}
