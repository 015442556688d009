// Package docs holds the operator and developer documentation; its tests
// keep what the documents claim about the code true.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testRef is how docs/security.md names the test that shows a control:
// `dir:TestName` (a directory of the module and a Test, Fuzz or Benchmark
// function in it), optionally with a subtest after a slash.
var testRef = regexp.MustCompile("`([a-z0-9_./-]+):((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]+)(/[^`]*)?`")

// TestSecurityNamesRealTests fails when docs/security.md names a test that
// does not exist (renamed, deleted, never written), or has an attack whose
// row names no test: every control claimed there must be one a test shows.
func TestSecurityNamesRealTests(t *testing.T) {
	doc, err := os.ReadFile("security.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for n, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| attack") || strings.HasPrefix(line, "|---") {
			continue
		}
		rows++
		refs := testRef.FindAllStringSubmatch(line, -1)
		if len(refs) == 0 {
			t.Errorf("security.md:%d names no test: %s", n+1, trim(line))
		}
		for _, ref := range refs {
			if !defines(t, filepath.Join("..", ref[1]), ref[2]) {
				t.Errorf("security.md:%d names %s:%s, which does not exist", n+1, ref[1], ref[2])
			}
		}
	}
	if rows < 10 {
		t.Fatalf("security.md has %d attack rows; the table was not found or lost its rows", rows)
	}
}

// defines reports whether a _test.go file in dir declares func name.
func defines(t *testing.T, dir, name string) bool {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	decl := regexp.MustCompile(`(?m)^func ` + regexp.QuoteMeta(name) + `\(`)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if decl.Match(src) {
			return true
		}
	}
	return false
}

func trim(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
