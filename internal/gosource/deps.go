package gosource

import (
	"os/exec"
	"strings"
	"testing"
)

// Deps is every package the package in dir depends on, directly or not,
// as `go list -deps` builds it with the given tags (none: the default build).
func Deps(tb testing.TB, dir string, tags ...string) []string {
	tb.Helper()
	args := []string{"list"}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.Command("go", append(args, "-deps", ".")...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("go list -deps in %s: %v\n%s", dir, err, out)
	}
	return strings.Fields(string(out))
}

// ioPackages are the packages that reach outside the process (network,
// database, other programs, the Matrix client) and Caldicott's own
// packages that do. A pure package depends on none of them.
var ioPackages = []string{
	"net/http", "database/sql", "os/exec", "github.com/lib/pq", "modernc.org/sqlite",
	"maunium.net/go/mautrix",
	"github.com/caldicott/caldicott/store", "github.com/caldicott/caldicott/appservice", "github.com/caldicott/caldicott/bridges",
}

// IODeps is what of deps reaches outside the process. database/sql/driver
// is not counted: it holds only interfaces (gomatrixserverlib/spec's ID
// types implement driver.Valuer) and opens no database.
func IODeps(deps []string) []string {
	var out []string
	for _, dep := range deps {
		if dep == "database/sql/driver" {
			continue
		}
		for _, io := range ioPackages {
			if dep == io || strings.HasPrefix(dep, io+"/") {
				out = append(out, dep)
				break
			}
		}
	}
	return out
}
