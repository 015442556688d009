package appservice

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/store"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/commands.md's command table from the registry")

// docs/commands.md's table is made from the registry: this fails when they
// disagree (a command added, renamed or reworded in one and not the other).
// `go test ./appservice -run TestCommandReference -update-docs` rewrites it.
func TestCommandReferenceMatchesDocs(t *testing.T) {
	s := newOfflineService(t, store.SQLite, "")
	path := filepath.Join("..", "docs", "commands.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	begin, end := strings.Index(doc, commands.ReferenceBegin), strings.Index(doc, commands.ReferenceEnd)
	if begin < 0 || end < begin {
		t.Fatalf("docs/commands.md lacks the markers %q … %q", commands.ReferenceBegin, commands.ReferenceEnd)
	}
	want := commands.ReferenceBegin + "\n" + s.commands.Reference()
	got := doc[begin:end]
	if got == want {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(doc[:begin]+want+doc[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/commands.md's command table differs from the registry; run go test ./appservice -run TestCommandReference -update-docs\nwant:\n%s\ngot:\n%s", want, got)
}

// Help lists every registered command, and every command has a handler.
func TestHelpComesFromTheRegistry(t *testing.T) {
	s := newOfflineService(t, store.SQLite, "")
	help := s.commands.Help()
	for _, c := range s.commands.Commands() {
		if !strings.Contains(help, c.Usage) {
			t.Errorf("help lacks %s", c.Usage)
		}
		if c.Run == nil {
			t.Errorf("%s has no handler", c.Name)
		}
	}
}
