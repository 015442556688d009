package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/audittamper"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeConfig writes a valid config with a SQLite database in dir.
// configWithTokens writes a config in a fresh directory and has
// generate-registration fill in its tokens, as an operator would.
func configWithTokens(t *testing.T) (dir, cfg string) {
	t.Helper()
	dir = t.TempDir()
	cfg = writeConfig(t, dir, "")
	if code, _, errOut := runCLI("generate-registration", "-c", cfg, "-o", filepath.Join(dir, "reg.yaml")); code != 0 {
		t.Fatal(errOut)
	}
	return dir, cfg
}

func writeConfig(t *testing.T, dir, extra string) string {
	t.Helper()
	path := filepath.Join(dir, "config.yaml")
	yml := fmt.Sprintf(`homeserver:
  address: http://127.0.0.1:8008
  domain: trust-a.example.nhs.uk
appservice:
  address: http://127.0.0.1:29330
  as_token: generate
  hs_token: generate
database:
  uri: %s
trust:
  name: Trust A
%s`, filepath.Join(dir, "caldicott.db"), extra)
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVersionAndHelp(t *testing.T) {
	if code, out, _ := runCLI("--version"); code != 0 || !strings.HasPrefix(out, "caldicott ") {
		t.Errorf("--version: %d %q", code, out)
	}
	code, out, _ := runCLI("-h")
	if code != 0 {
		t.Errorf("-h exit %d", code)
	}
	for _, want := range []string{"generate-registration", "check-config", "audit verify", "audit export", "First start, step by step", "Exit codes"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if code, _, errOut := runCLI("frobnicate"); code != exitConfig || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
}

// Every command answers -h, --help and "help <command>" with its own usage
// (its name and each of its flags) on stdout and exit 0, not the general usage.
func TestEachCommandHasItsOwnHelp(t *testing.T) {
	tests := []struct {
		command string
		flags   []string
	}{
		{"generate-registration", []string{"-c", "-o"}},
		{"check-config", []string{"-c"}},
		{"gatekeeper", []string{"-c"}},
		{"audit verify", []string{"-c", "-local", "-witness", "-witness-token-file", "-witness-key"}},
		{"audit export", []string{"-c", "-since", "-format", "-o"}},
		{"directory import", []string{"-c", "-confirm-removals"}},
		{"export", []string{"-c", "-user", "-since", "-until", "-o", "-requested-by"}},
		{"admin token create", []string{"-c", "-name", "-scope", "-expires", "-for", "-by"}},
		{"admin token list", []string{"-c"}},
		{"admin token revoke", []string{"-c", "-by"}},
		{"db migrate", []string{"-from", "-to"}},
		{"keys reset", []string{"-c"}},
	}
	if len(tests) != len(commands) {
		t.Errorf("%d commands in the usage, %d tested", len(commands), len(tests))
	}
	for _, tt := range tests {
		words := strings.Fields(tt.command)
		for _, args := range [][]string{
			append(words[:len(words):len(words)], "-h"),
			append(words[:len(words):len(words)], "--help"),
			append([]string{"help"}, words...),
		} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, out, errOut := runCLI(args...)
				if code != exitOK {
					t.Fatalf("exit %d, want 0; stderr %q", code, errOut)
				}
				if !strings.Contains(out, "Usage:\n  caldicott "+tt.command+" ") {
					t.Errorf("usage does not name %q:\n%s", tt.command, out)
				}
				for _, f := range tt.flags {
					if !strings.Contains(out, "  "+f+" ") && !strings.Contains(out, "  "+f+"\n") {
						t.Errorf("usage lacks flag %s:\n%s", f, out)
					}
				}
				if strings.Contains(out, "First start") {
					t.Errorf("printed the general usage:\n%s", out)
				}
			})
		}
	}
}

func TestCommandGroupsHaveTheirOwnHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"audit", "-h"}, []string{"caldicott audit verify", "caldicott audit export"}},
		{[]string{"audit", "--help"}, []string{"caldicott audit verify", "caldicott audit export"}},
		{[]string{"help", "audit"}, []string{"caldicott audit verify", "caldicott audit export"}},
		{[]string{"directory", "-h"}, []string{"caldicott directory import"}},
		{[]string{"help", "directory"}, []string{"caldicott directory import"}},
		{[]string{"db", "-h"}, []string{"caldicott db migrate"}},
		{[]string{"help", "db"}, []string{"caldicott db migrate"}},
		{[]string{"keys", "-h"}, []string{"caldicott keys reset"}},
		{[]string{"help"}, []string{"First start, step by step", "audit verify", "directory import"}},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(tt.args...)
		if code != exitOK {
			t.Errorf("%q: exit %d, stderr %q", tt.args, code, errOut)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%q: usage lacks %q:\n%s", tt.args, w, out)
			}
		}
	}
}

// Misuse is still exit 2, with the command's own usage on stderr.
func TestCommandMisuseExitsTwoWithItsUsage(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"audit", "verify", "-x"}, []string{"flag provided but not defined: -x", "caldicott audit verify -c config.yaml"}},
		{[]string{"audit"}, []string{"say verify or export", "caldicott audit export"}},
		{[]string{"audit", "frob"}, []string{`unknown subcommand "frob"`, "caldicott audit verify"}},
		{[]string{"directory"}, []string{"say import", "caldicott directory import"}},
		{[]string{"help", "frob"}, []string{`unknown command "frob"`}},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(tt.args...)
		if code != exitConfig || out != "" {
			t.Errorf("%q: exit %d, stdout %q; want 2 and nothing", tt.args, code, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%q: stderr lacks %q:\n%s", tt.args, w, errOut)
			}
		}
	}
}

func TestGenerateRegistrationThenCheckConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")
	// Before generation, the placeholder tokens are refused with the key named.
	code, _, errOut := runCLI("check-config", "-c", cfg)
	if code != exitConfig || !strings.Contains(errOut, `appservice.as_token: is still "generate"`) {
		t.Fatalf("check-config before generation: %d %q", code, errOut)
	}
	reg := filepath.Join(dir, "registration.yaml")
	code, out, errOut := runCLI("generate-registration", "-c", cfg, "-o", reg)
	if code != 0 || !strings.Contains(out, "@caldicott:trust-a.example.nhs.uk") {
		t.Fatalf("generate-registration: %d %q %q", code, out, errOut)
	}
	if data, err := os.ReadFile(reg); err != nil || !strings.Contains(string(data), "hs_token:") {
		t.Fatalf("registration: %v %s", err, data)
	}
	if code, out, errOut := runCLI("check-config", "-c", cfg); code != 0 || !strings.Contains(out, "is valid") {
		t.Fatalf("check-config after generation: %d %q %q", code, out, errOut)
	}
}

func TestBrokenConfigExitsTwoNamingTheKey(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ extra, want string }{
		{"federation:\n  servres: [a.org]\n", `unknown key "servres" in section federation`},
		{"policy:\n  clinical_history_visibility: shared\n", "policy.clinical_history_visibility"},
		{"database:\n  type: oracle\n", "mapping key \"database\" already defined"},
	}
	for _, tt := range tests {
		cfg := writeConfig(t, dir, tt.extra)
		code, _, errOut := runCLI("check-config", "-c", cfg)
		if code != exitConfig || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.extra, code, errOut, tt.want)
		}
	}
	if code, _, errOut := runCLI("check-config", "-c", filepath.Join(dir, "missing.yaml")); code != exitConfig || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: %d %q", code, errOut)
	}
	// Running (not just checking) with a broken config also exits 2.
	if code, _, _ := runCLI("-c", filepath.Join(dir, "missing.yaml")); code != exitConfig {
		t.Errorf("run with missing config: exit %d", code)
	}
}

func TestDatabaseUnreachableExitsThree(t *testing.T) {
	dir, cfg := configWithTokens(t)
	port := testenv.FreePort(t, "127.0.0.1")
	t.Setenv("CALDICOTT_DATABASE_URI", fmt.Sprintf("postgres://u@127.0.0.1:%d/db?sslmode=disable&connect_timeout=2", port))
	data, _ := os.ReadFile(cfg)
	pgCfg := filepath.Join(dir, "pg.yaml")
	_ = os.WriteFile(pgCfg, []byte(strings.Replace(string(data), "database:", "database:\n  type: postgres", 1)), 0o600)
	code, _, errOut := runCLI("-c", pgCfg)
	if code != exitDatabase || !strings.Contains(errOut, "connect to postgres database") {
		t.Fatalf("exit %d, stderr %q; want 3 and a clear reason", code, errOut)
	}
}

func TestAuditVerifyAndExport(t *testing.T) {
	dir, cfg := configWithTokens(t)
	st, err := store.Open(context.Background(), store.SQLite, filepath.Join(dir, "caldicott.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, action := range []string{"classify", "set_state", "notify_room"} {
		if _, err := st.AppendAudit(context.Background(), store.AuditEntry{Actor: "@alice:trust-a", RoomID: "!r:trust-a", Action: action, Reason: fmt.Sprintf("reason, with comma %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	// No homeserver answers at the configured address: the chain is checked,
	// but the comparison with the published head could not be made.
	data, _ := os.ReadFile(cfg)
	_ = os.WriteFile(cfg, []byte(strings.Replace(string(data), "http://127.0.0.1:8008", fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t, "127.0.0.1")), 1)), 0o600)
	code, out, _ := runCLI("audit", "verify", "-c", cfg)
	if code != exitRuntime || !strings.Contains(out, "Audit log intact: 3 entries") || !strings.Contains(out, "NOT COMPARED with the head published outside the database: the homeserver cannot be reached") {
		t.Fatalf("verify with the homeserver down: %d %q", code, out)
	}
	code, out, _ = runCLI("audit", "verify", "-c", cfg, "-local")
	if code != 0 || !strings.Contains(out, "Audit log intact: 3 entries") || !strings.Contains(out, "Only the database's own chain was checked") {
		t.Fatalf("verify -local: %d %q", code, out)
	}
	// A witness named on the command line: its flags go together and are
	// checked before anything is read; one that does not answer leaves the
	// comparison incomplete, and says so.
	tokenFile := filepath.Join(dir, "witness-token")
	_ = os.WriteFile(tokenFile, []byte("syt_token\n"), 0o600)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-witness", "https://matrix.b.nhs.uk"}, "-witness and -witness-token-file go together"},
		{[]string{"-witness", "matrix.b.nhs.uk", "-witness-token-file", tokenFile}, `-witness.homeserver: "matrix.b.nhs.uk" is not a homeserver URL`},
		{[]string{"-witness", "https://matrix.b.nhs.uk", "-witness-token-file", filepath.Join(dir, "none")}, "-witness-token-file: open"},
		{[]string{"-witness", "https://matrix.b.nhs.uk", "-witness-token-file", tokenFile, "-witness-key", "abc"}, "-witness.bot_key: is not an ed25519 master key"},
	} {
		if code, _, errOut := runCLI(append([]string{"audit", "verify", "-c", cfg}, tt.args...)...); code != exitConfig || !strings.Contains(errOut, tt.want) {
			t.Errorf("verify %q: %d %q, want exit 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
	witnessURL := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t, "127.0.0.1"))
	code, out, _ = runCLI("audit", "verify", "-c", cfg, "-witness", witnessURL, "-witness-token-file", tokenFile)
	if code != exitRuntime || !strings.Contains(out, "Could not reach the witness "+witnessURL) || !strings.Contains(out, "no witness (another trust's homeserver) could be read") {
		t.Fatalf("verify with the witness down: %d %q", code, out)
	}
	code, out, _ = runCLI("audit", "export", "-c", cfg, "-format", "jsonl", "-since", "24h")
	if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, `"action":"set_state"`) {
		t.Fatalf("jsonl export: %d %q", code, out)
	}
	csvPath := filepath.Join(dir, "audit.csv")
	if code, _, errOut := runCLI("audit", "export", "-c", cfg, "-format", "csv", "-o", csvPath); code != 0 {
		t.Fatal(errOut)
	}
	csvData, _ := os.ReadFile(csvPath)
	if !strings.HasPrefix(string(csvData), "seq,time,actor,room_id,action,reason,detail,prev_hash,hash\n") || !strings.Contains(string(csvData), `"reason, with comma 1"`) {
		t.Fatalf("csv export:\n%s", csvData)
	}
	if code, out, _ := runCLI("audit", "export", "-c", cfg, "-since", "2999-01-01"); code != 0 || out != "" {
		t.Fatalf("future -since: %d %q", code, out)
	}
	if code, _, errOut := runCLI("audit", "export", "-c", cfg, "-since", "last tuesday"); code != exitConfig || !strings.Contains(errOut, "is not a date") {
		t.Fatalf("bad -since: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI("audit", "export", "-c", cfg, "-format", "xml"); code != exitConfig || !strings.Contains(errOut, "not jsonl or csv") {
		t.Fatalf("bad format: %d %q", code, errOut)
	}

	// Tamper with an entry (dropping the guard trigger first, as an attacker
	// with database access would) and verify must fail with exit 4.
	st, _ = store.Open(context.Background(), store.SQLite, filepath.Join(dir, "caldicott.db"), 1)
	if err := audittamper.Run(context.Background(), st, `UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, _ = runCLI("audit", "verify", "-c", cfg)
	if code != exitTampered || !strings.Contains(out, "entry 2 was edited") {
		t.Fatalf("verify after tampering: %d %q", code, out)
	}
}

func TestDirectoryImport(t *testing.T) {
	dir, cfg := configWithTokens(t)
	bad := filepath.Join(dir, "bad.csv")
	_ = os.WriteFile(bad, []byte("user_id,name,status\n@a:trust-a.example.nhs.uk,A,active\n@b:elsewhere.org,B,active\n@c:trust-a.example.nhs.uk,C,gone\n"), 0o600)
	code, _, errOut := runCLI("directory", "import", "-c", cfg, bad)
	if code != exitConfig || !strings.Contains(errOut, "line 3: user_id @b:elsewhere.org is not on this trust's server") || !strings.Contains(errOut, `line 4: status "gone"`) || !strings.Contains(errOut, "nothing imported") {
		t.Fatalf("bad CSV: %d %q", code, errOut)
	}
	good := filepath.Join(dir, "good.csv")
	var b strings.Builder
	b.WriteString("user_id,name,role,status\n")
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&b, "@u%d:trust-a.example.nhs.uk,User %d,Staff Nurse,active\n", i, i)
	}
	_ = os.WriteFile(good, []byte(b.String()), 0o600)
	code, out, errOut := runCLI("directory", "import", "-c", cfg, good)
	if code != 0 || !strings.Contains(out, "Imported 10 people: 10 new") || !strings.Contains(out, "The running Caldicott service is told at once") {
		t.Fatalf("good CSV: %d %q %q", code, out, errOut)
	}
	// One audit entry names the file and the ten people, by user ID only;
	// the journal has a row for each, for the running service to act on.
	audit, journal := directoryRecords(t, dir)
	if len(audit) != 1 || audit[0].Actor != "csv:good.csv" || !strings.HasPrefix(audit[0].Reason, "caldicott directory import of good.csv") ||
		!strings.HasPrefix(audit[0].Detail, `{"changed":10,"user_ids":["@u0:trust-a.example.nhs.uk","@u1:trust-a.example.nhs.uk",`) || strings.Contains(audit[0].Detail+audit[0].Reason, "Nurse") {
		t.Fatalf("import audited as %+v", audit)
	}
	if len(journal) != 10 || journal[0].Kind != store.ChangeAdded {
		t.Fatalf("import journalled %+v", journal)
	}
	// The same file again changes nobody, and says so.
	code, out, _ = runCLI("directory", "import", "-c", cfg, good)
	if code != 0 || !strings.Contains(out, "0 new, 0 updated, 10 unchanged") || strings.Contains(out, "told") {
		t.Fatalf("unchanged CSV: %d %q", code, out)
	}
	if audit, journal := directoryRecords(t, dir); len(audit) != 1 || len(journal) != 10 {
		t.Fatalf("unchanged import: %d audit entries, %d journal rows", len(audit), len(journal))
	}
	// Half the staff leaving at once is held.
	leavers := strings.Replace(b.String(), "Staff Nurse,active\n@u1", "Staff Nurse,left\n@u1", 1)
	for i := 1; i < 5; i++ {
		leavers = strings.Replace(leavers, fmt.Sprintf("User %d,Staff Nurse,active", i), fmt.Sprintf("User %d,Staff Nurse,left", i), 1)
	}
	_ = os.WriteFile(good, []byte(leavers), 0o600)
	code, _, errOut = runCLI("directory", "import", "-c", cfg, good)
	if code != exitHeld || !strings.Contains(errOut, "held for confirmation") || !strings.Contains(errOut, "-confirm-removals") {
		t.Fatalf("mass removal: %d %q", code, errOut)
	}
	if audit, _ := directoryRecords(t, dir); len(audit) != 1 {
		t.Fatalf("held import audited: %+v", audit)
	}
	if code, out, _ := runCLI("directory", "import", "-c", cfg, "-confirm-removals", good); code != 0 || !strings.Contains(out, "5 updated, 5 unchanged; 5 now suspended or left") {
		t.Fatalf("confirmed: %d %q", code, out)
	}
	audit, journal = directoryRecords(t, dir)
	if len(audit) != 2 || !strings.HasSuffix(audit[1].Detail, `"user_ids":["@u0:trust-a.example.nhs.uk","@u1:trust-a.example.nhs.uk","@u2:trust-a.example.nhs.uk","@u3:trust-a.example.nhs.uk","@u4:trust-a.example.nhs.uk"]}`) {
		t.Fatalf("confirmed import audited as %+v", audit)
	}
	if len(journal) != 15 || journal[14].Kind != store.ChangeStatus {
		t.Fatalf("confirmed import journalled %+v", journal[10:])
	}
}

// directoryRecords reads what directory writes left in the store in dir: the
// directory_change audit entries and the change journal.
func directoryRecords(t *testing.T, dir string) ([]store.AuditEntry, []store.DirectoryChange) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.SQLite, filepath.Join(dir, "caldicott.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var audit []store.AuditEntry
	err = st.AuditSince(ctx, time.Time{}, func(e store.AuditEntry) error {
		if e.Action == store.ActionDirectoryChange {
			audit = append(audit, e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	journal, err := st.DirectoryChangesSince(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return audit, journal
}

// The export checks what it is asked before touching anything.
func TestExportRefusesBadInput(t *testing.T) {
	_, cfg := configWithTokens(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-since", "2026-01-01", "-until", "2026-12-31"}, "-user is required"},
		{[]string{"-user", "bob", "-since", "2026-01-01", "-until", "2026-12-31"}, `-user "bob" is not a Matrix user ID`},
		{[]string{"-user", "@bob:trust-a.example.nhs.uk", "-until", "2026-12-31"}, "-since is required"},
		{[]string{"-user", "@bob:trust-a.example.nhs.uk", "-since", "01/02/2026", "-until", "2026-12-31"}, `-since "01/02/2026" is not a date (2026-01-31)`},
		{[]string{"-user", "@bob:trust-a.example.nhs.uk", "-since", "2026-01-01", "-until", "soon"}, `-until "soon" is not a date`},
		{[]string{"-user", "@bob:trust-a.example.nhs.uk", "-since", "2026-12-31", "-until", "2026-01-01"}, "-since 2026-12-31 is after until 2026-01-01"},
		{[]string{"-user", "@bob:trust-a.example.nhs.uk", "-since", "2026-01-01", "-until", "2026-12-31", "extra"}, `unexpected "extra"`},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(append([]string{"export", "-c", cfg}, tt.args...)...)
		if code != exitConfig || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
	// A homeserver that does not answer: said, and nothing written.
	dir := filepath.Join(t.TempDir(), "bundle")
	data, _ := os.ReadFile(cfg)
	_ = os.WriteFile(cfg, []byte(strings.Replace(string(data), "http://127.0.0.1:8008", fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t, "127.0.0.1")), 1)), 0o600)
	code, _, errOut := runCLI("export", "-c", cfg, "-user", "@bob:trust-a.example.nhs.uk", "-since", "2026-01-01", "-until", "2026-12-31", "-o", dir)
	if code != exitRuntime || !strings.Contains(errOut, "cannot be reached") || !strings.Contains(errOut, "nothing was exported") {
		t.Errorf("homeserver down: exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a bundle directory was made with the homeserver down: %v", err)
	}
}

// With publication off, a homeserver that cannot be reached is no failure
// of `audit verify`: there is nothing it was meant to be compared with.
func TestAuditVerifyWithPublicationOff(t *testing.T) {
	dir, cfg := configWithTokens(t)
	data, _ := os.ReadFile(cfg)
	yml := strings.Replace(string(data), "http://127.0.0.1:8008", fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t, "127.0.0.1")), 1) + "audit:\n  publish_interval: 0s\n"
	_ = os.WriteFile(cfg, []byte(yml), 0o600)
	st, err := store.Open(context.Background(), store.SQLite, filepath.Join(dir, "caldicott.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendAudit(context.Background(), store.AuditEntry{Actor: "@a:trust-a", Action: "classify"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errOut := runCLI("audit", "verify", "-c", cfg)
	if code != exitOK || !strings.Contains(out, "Audit log intact: 1 entries") || !strings.Contains(out, "Publication of the head is off") || strings.Contains(out, "NOT COMPARED") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}
