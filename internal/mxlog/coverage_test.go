package mxlog

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// buildsClient matches the ways Caldicott gets a mautrix client of its own.
var buildsClient = regexp.MustCompile(`mautrix\.NewClient\(|\.BotClient\(\)|\.NewMautrixClient\(|\.NewExternalMautrixClient\(|mautrix\.Client\{|\bas\.(Client|Intent|NewIntentAPI)\(`)

// TestEveryClientOmitsBodies: each production file that builds a Matrix
// client also passes it through OmitBodies, so no client logs bodies.
// internal/testenv builds the test users' clients, which are not Caldicott's.
func TestEveryClientOmitsBodies(t *testing.T) {
	root := filepath.Join("..", "..")
	found := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testenv", "mxlog":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if buildsClient.Match(src) {
			found++
			if !strings.Contains(string(src), "mxlog.OmitBodies(") {
				t.Errorf("%s builds a Matrix client without mxlog.OmitBodies: its requests' bodies would be logged", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 3 {
		t.Fatalf("found %d files building a Matrix client; the pattern no longer matches the code", found)
	}
}
