package mxlog

import (
	"os"
	"path/filepath"
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
	root := filepath.Join("..", "..")
	paths, _, err := gosource.ProductionFiles(root, func(_, name string) bool { return name == "testenv" || name == "mxlog" })
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if buildsClient.Match(src) {
			found++
			if !strings.Contains(string(src), "mxlog.OmitBodies(") {
				t.Errorf("%s builds a Matrix client without mxlog.OmitBodies: its requests' bodies would be logged", path)
			}
		}
	}
	if found < 3 {
		t.Fatalf("found %d files building a Matrix client; the pattern no longer matches the code", found)
	}
}
