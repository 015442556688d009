package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Chromium finds Debian's Chromium for the tests that drive a real
// browser (scripts/ensure-deps.sh installs it), or CALDICOTT_CHROMIUM.
// Where there is none the test is skipped, except in CI (CI=true), where
// a missing browser must fail rather than pass unseen.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CALDICOTT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium not found, and this is CI: run scripts/ensure-deps.sh (it installs Debian's chromium)")
	}
	t.Skip("Chromium not found: install Debian's chromium (scripts/ensure-deps.sh does) or set CALDICOTT_CHROMIUM")
	return ""
}
