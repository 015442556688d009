package mxlog

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// buildsClient matches the ways Caldicott gets a mautrix client of its own.
var buildsClient = regexp.MustCompile(`mautrix\.NewClient\(|\.BotClient\(\)|\.NewMautrixClient\(|\.NewExternalMautrixClient\(|mautrix\.Client\{|\bas\.(Client|Intent|NewIntentAPI)\(`)

// TestEveryClientOmitsBodies: each production file that builds a Matrix
// client also passes it through OmitBodies, so no client logs bodies.
// internal/testenv builds the test users' clients, which are not Caldicott's.
func TestEveryClientOmitsBodies(t *testing.T) {
	tree := gosource.Module(t)
	found := 0
	for _, f := range tree.Select(func(f *gosource.File) bool { return !f.In("internal/testenv", "internal/mxlog") }) {
		src, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if buildsClient.Match(src) {
			found++
			if !strings.Contains(string(src), "mxlog.OmitBodies(") {
				t.Errorf("%s builds a Matrix client without mxlog.OmitBodies: its requests' bodies would be logged", f.Rel)
			}
		}
	}
	if found < 3 {
		t.Fatalf("found %d files building a Matrix client; the pattern no longer matches the code", found)
	}
}
