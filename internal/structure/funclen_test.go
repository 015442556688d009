package structure

import (
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// maxFuncLines is the longest a function of production code may be, from
// its func keyword to its closing brace: longer, and it does more than one
// thing a reader can hold at once.
const maxFuncLines = 80

// TestShortFunctions fails on any function of production code over
// maxFuncLines lines. `make lint` runs it.
func TestShortFunctions(t *testing.T) {
	tree := gosource.Module(t)
	longest := 0
	for _, fn := range gosource.Funcs(tree.Files) {
		n := tree.Lines(fn.Decl)
		longest = max(longest, n)
		if n > maxFuncLines {
			t.Errorf("%s: %s is %d lines; cut it to %d or fewer (one function, one job)", tree.Where(fn.File, fn.Decl), fn.Name(), n, maxFuncLines)
		}
	}
	if longest < 20 {
		t.Fatalf("the longest function seen is %d lines; the count no longer measures functions", longest)
	}
	t.Logf("longest production function: %d lines", longest)
}
