package appservice

import (
	"os/exec"
	"strings"
	"testing"
)

// The Matrix side is cut by concern and its imports point one way: input
// (intake, commands) → facts → policy → executor. The capabilities never
// import one another (they meet through interfaces wired in this package),
// and nothing below imports the assembly. This fails when someone slips back.
func TestImportsPointOneWay(t *testing.T) {
	const mod = "github.com/caldicott/caldicott/appservice"
	capabilities := []string{mod + "/hardening", mod + "/membership", mod + "/verification", mod + "/retention", mod + "/guard", mod + "/records", mod + "/audithead", mod + "/federation"}
	forbidden := map[string][]string{
		mod + "/executor": append([]string{mod, mod + "/kit", mod + "/facts", mod + "/commands", mod + "/intake", mod + "/worker"}, capabilities...),
		mod + "/facts":    append([]string{mod, mod + "/executor", mod + "/kit", mod + "/commands"}, capabilities...),
		mod + "/intake":   append([]string{mod, mod + "/executor", mod + "/facts", mod + "/kit", mod + "/commands", "maunium.net/go/mautrix"}, capabilities...),
		mod + "/worker":   append([]string{mod, mod + "/executor", mod + "/facts", mod + "/kit", "maunium.net/go/mautrix"}, capabilities...),
		mod + "/commands": append([]string{mod, mod + "/executor", mod + "/kit"}, capabilities...),
		mod + "/kit":      append([]string{mod, mod + "/commands"}, capabilities...),
		// The export reads; it never acts, and stays usable from the CLI.
		mod + "/subjectaccess": append([]string{mod, mod + "/kit", mod + "/executor", mod + "/commands"}, capabilities...),
	}
	for _, c := range capabilities {
		for _, other := range capabilities {
			if other != c {
				forbidden[c] = append(forbidden[c], other)
			}
		}
		forbidden[c] = append(forbidden[c], mod)
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-tags", "goolm", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		for _, dep := range deps {
			for _, b := range bad {
				if dep == b || (strings.HasSuffix(b, "mautrix") && strings.HasPrefix(dep, b+"/")) {
					t.Errorf("%s imports %s; imports must point one way (see docs/architecture.md)", strings.TrimPrefix(pkg, mod+"/"), dep)
				}
			}
		}
	}
}
