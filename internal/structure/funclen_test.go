package structure

import (
	"slices"
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// maxFuncLines is the longest a function of production code may be, from
// its func keyword to its closing brace: longer, and it does more than one
// thing a reader can hold at once.
const maxFuncLines = 80

// tooLong are the functions over the limit when this check was written,
// each being cut down by its owner. The list only shrinks: the check fails
// when one listed here is back within the limit (take it out), so it
// cannot go stale. Key: package directory and function (so moving one to
// another file of its package keeps its place). Empty it, and delete it,
// once the last is cut.
var tooLong = []string{
	"config Config.Validate",      // 218 lines
	"config Config.applyDefaults", // 107
	"store Store.writeStaff",      // 81
}

// TestShortFunctions fails on any function of production code over
// maxFuncLines lines, except the shrinking list above. `make lint` runs it.
func TestShortFunctions(t *testing.T) {
	tree := gosource.Module(t)
	over := map[string]bool{}
	longest := 0
	for _, fn := range gosource.Funcs(tree.Files) {
		n := tree.Lines(fn.Decl)
		longest = max(longest, n)
		if n <= maxFuncLines {
			continue
		}
		key := fn.File.Dir + " " + fn.Name()
		over[key] = true
		if !slices.Contains(tooLong, key) {
			t.Errorf("%s: %s is %d lines; cut it to %d or fewer (one function, one job)", tree.Where(fn.File, fn.Decl), fn.Name(), n, maxFuncLines)
		}
	}
	for _, key := range tooLong {
		if !over[key] {
			t.Errorf("%s is no longer over %d lines (or was renamed or moved): take it out of tooLong", key, maxFuncLines)
		}
	}
	if longest < 20 {
		t.Fatalf("the longest function seen is %d lines; the count no longer measures functions", longest)
	}
}
