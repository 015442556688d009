// Package structure holds the checks that read the whole module's code
// (through internal/gosource) and keep its shape: imports as
// docs/architecture.md's table allows them, the executor the only writer
// (the writes outside it are the same page's list), short functions, doc
// comments that name what they document. Checks of one package's own
// promise (policy's purity, the one clock, no test hooks in the binary,
// every Matrix client without logged bodies) stay beside that package.
package structure

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// archDoc is the page whose tables these tests read.
const archDoc = "docs/architecture.md"

// row is one line of a Markdown table: its cells, and its line number.
type row struct {
	line  int
	cells []string
}

// table reads the first Markdown table after the heading (a whole line,
// e.g. "## Packages") in docs/architecture.md, header and rule left out.
// It fails the test when the heading or the table is missing, so a
// renamed heading cannot turn a check into one that sees no rows.
func table(t *testing.T, heading string) []row {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(gosource.Module(t).Root, archDoc))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == heading {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatalf("%s has no heading %q", archDoc, heading)
	}
	var rows []row
	inTable := false
	for i := start + 1; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "#") {
			break
		}
		if !strings.HasPrefix(l, "|") {
			if inTable {
				break
			}
			continue
		}
		if !inTable { // the header
			inTable = true
			i++ // the rule under it
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(l, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, row{line: i + 1, cells: cells})
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no table under %q", archDoc, heading)
	}
	return rows
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// names is the code spans of a cell (`policy`, `SendToDevice`), in order;
// the words around them are for the reader.
func names(cell string) []string {
	var out []string
	for _, m := range codeSpan.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// where names a row of the page in a failure.
func (r row) where() string { return fmt.Sprintf("%s:%d", archDoc, r.line) }
