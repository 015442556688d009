//go:build goolm

package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/store"
)

// keys reset refuses, with the reason, without an admin token and while
// Caldicott has the database open; the reset itself is tested on a real
// Dendrite in appservice (TestKeysResetAfterTheDatabaseIsLost).
func TestKeysResetRefuses(t *testing.T) {
	dir, cfg := configWithTokens(t)
	code, _, errOut := runCLI("keys", "reset", "-c", cfg)
	if code != exitRuntime || !strings.Contains(errOut, "homeserver.admin_token") {
		t.Errorf("keys reset without an admin token: exit %d, stderr %q", code, errOut)
	}
	st, err := store.Open(context.Background(), store.SQLite, filepath.Join(dir, "caldicott.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	code, _, errOut = runCLI("keys", "reset", "-c", cfg)
	if code != exitDatabase || !strings.Contains(errOut, "stop Caldicott") {
		t.Errorf("keys reset while Caldicott has the database open: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI("keys")
	if code != exitConfig || !strings.Contains(errOut, "say reset") {
		t.Errorf("keys alone: exit %d, stderr %q", code, errOut)
	}
}
