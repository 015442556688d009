package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/store"
)

// TestAdminTokenCommands: create prints the secret once, list shows every
// token without it, revoke revokes; each refusal (unknown scope, no scope,
// a taken name, an unknown name, a bad lifetime or person) is a clear
// error and exit 2 with nothing written; creation and revocation are
// audited with the operator's name.
func TestAdminTokenCommands(t *testing.T) {
	dir, cfg := configWithTokens(t)
	code, out, errOut := runCLI("admin", "token", "create", "-c", cfg, "--name", "ig-lead", "--scope", "read", "--scope", "export", "--expires", "90d", "--for", "@ig:trust-a.example.nhs.uk", "--by", "alice")
	if code != exitOK || !strings.Contains(out, `Created admin API token "ig-lead" (read, export)`) || !strings.Contains(errOut, "@ig:trust-a.example.nhs.uk is not one of trust.ig_admins") {
		t.Fatalf("create: %d %q %q", code, out, errOut)
	}
	secret := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "cdt_") {
			secret = line
		}
	}
	if len(secret) < 40 {
		t.Fatalf("no secret printed:\n%s", out)
	}
	if code, _, errOut := runCLI("admin", "token", "create", "-c", cfg, "--name", "siem", "--scope", "read"); code != exitOK {
		t.Fatalf("create siem: %d %q", code, errOut)
	}

	refusals := []struct {
		args []string
		want string
	}{
		{[]string{"create", "--name", "x", "--scope", "admin"}, `unknown scope "admin"`},
		{[]string{"create", "--name", "x"}, "give at least one scope"},
		{[]string{"create", "--name", "ig-lead", "--scope", "read"}, `a token named "ig-lead": already exists`},
		{[]string{"create", "--name", "legacy", "--scope", "export"}, "deprecated admin_api.token"},
		{[]string{"create", "--name", "x", "--scope", "read", "--expires", "soon"}, `--expires: "soon" is not a lifetime`},
		{[]string{"create", "--name", "x", "--scope", "read", "--for", "bob"}, `"bob" is not a Matrix user ID`},
		{[]string{"create", "--name", "Bad Name", "--scope", "read"}, "is not a token name"},
		{[]string{"revoke", "nobody"}, `no token named "nobody"`},
		{[]string{"revoke"}, "name one token"},
		{[]string{"frob"}, `unknown subcommand "frob"`},
	}
	for _, r := range refusals {
		args := append([]string{"admin", "token"}, r.args...)
		args = append(args, "-c", cfg)
		if code, out, errOut := runCLI(args...); code != exitConfig || !strings.Contains(errOut, r.want) || strings.Contains(out, "cdt_") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", r.args, code, errOut, r.want)
		}
	}

	if code, out, errOut := runCLI("admin", "token", "revoke", "siem", "-c", cfg); code != exitOK || !strings.Contains(out, `Revoked admin API token "siem"`) {
		t.Fatalf("revoke (name first): %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI("admin", "token", "revoke", "-c", cfg, "siem"); code != exitConfig || !strings.Contains(errOut, "already revoked") {
		t.Errorf("revoke twice: %d %q", code, errOut)
	}
	code, out, errOut = runCLI("admin", "token", "list", "-c", cfg)
	if code != exitOK || strings.Contains(out, secret) || strings.Contains(out, "cdt_") {
		t.Fatalf("list: %d %q %q", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "LAST USED") {
		t.Fatalf("list:\n%s", out)
	}
	if f := strings.Fields(lines[1]); f[0] != "ig-lead" || f[1] != "read,export" || f[2] != "@ig:trust-a.example.nhs.uk" || !strings.Contains(lines[1], "never") {
		t.Errorf("ig-lead row: %q", lines[1])
	}
	if f := strings.Fields(lines[2]); f[0] != "siem" || strings.HasSuffix(lines[2], " -") {
		t.Errorf("siem row shows no revocation: %q", lines[2])
	}

	st, err := store.Open(context.Background(), store.SQLite, dir+"/caldicott.db", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var audited []string
	if err := st.AuditSince(context.Background(), time.Time{}, func(e store.AuditEntry) error {
		if strings.HasPrefix(e.Action, "admin_token.") {
			audited = append(audited, e.Actor+" "+e.Action)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(audited) != 3 || audited[0] != "cli:alice admin_token.created" || !strings.HasSuffix(audited[2], "admin_token.revoked") || !strings.HasPrefix(audited[1], "cli") {
		t.Errorf("audited %q; want two creations and one revocation by the operator", audited)
	}
}

// TestAdminTokenHelp: the command groups answer -h with their commands.
func TestAdminTokenHelp(t *testing.T) {
	for _, args := range [][]string{{"admin", "-h"}, {"admin", "token", "-h"}, {"help", "admin", "token"}, {"help", "admin"}} {
		code, out, errOut := runCLI(args...)
		if code != exitOK || !strings.Contains(out, "caldicott admin token create") || !strings.Contains(out, "caldicott admin token revoke") {
			t.Errorf("%q: %d %q %q", args, code, out, errOut)
		}
	}
	if code, _, errOut := runCLI("admin"); code != exitConfig || !strings.Contains(errOut, "say token") {
		t.Errorf("admin alone: %d %q", code, errOut)
	}
}
