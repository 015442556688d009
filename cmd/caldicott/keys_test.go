//go:build goolm

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/testenv/trust"
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

// The command itself on a real Dendrite: the bot's keys lost from the
// database, keys reset publishes new ones, says their fingerprint and
// audits the reset; run again, it has nothing to do.
func TestKeysResetCommand(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true})
	t.Setenv(config.EnvAdminToken, tr.HS.RegisterUser(t, "operator", true).AccessToken)
	tr.Start(t)
	tr.Stop(t)
	st, err := store.Open(context.Background(), store.SQLite, tr.Config.Database.URI, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.DB().Exec(context.Background(), `DELETE FROM kv WHERE key = 'bot_cross_signing_seeds'`)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(tr.YAML), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI("keys", "reset", "-c", cfg)
	if code != exitOK || !strings.Contains(out, "has a new cross-signing identity") || !strings.Contains(out, "!policy trust-key "+tr.BotID().String()) {
		t.Fatalf("keys reset: exit %d\n%s%s", code, out, errOut)
	}
	st, err = store.Open(context.Background(), store.SQLite, tr.Config.Database.URI, 1)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := st.AuditForRoom(context.Background(), "", 5)
	st.Close()
	if err != nil || len(entries) == 0 || entries[len(entries)-1].Action != "bot_identity_reset" {
		t.Errorf("the reset's audit entry: %+v %v", entries, err)
	}
	code, out, _ = runCLI("keys", "reset", "-c", cfg)
	if code != exitOK || !strings.Contains(out, "Nothing to reset") {
		t.Errorf("keys reset again: exit %d, %s", code, out)
	}
}
