//go:build goolm

package appservice_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// TestBackupRestoredIntoNewCluster backs up Caldicott's PostgreSQL database
// with pg_dump -Fc while Caldicott runs (the bot's encryption device on, its
// audit head published), restores it with pg_restore into a new cluster,
// and starts Caldicott there with the same config otherwise: the bot is the
// same device with the same cross-signing identity, it acts, and
// `caldicott audit verify` passes, matching the heads published before the
// backup and since. The same backup restored again once a later head has
// been published is an older backup: audit verify says entries were
// deleted (exit 4), as docs/operations.md tells.
func TestBackupRestoredIntoNewCluster(t *testing.T) {
	bin := failpointBinary(t)
	first := testenv.NewPostgresCluster(t)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true, Database: first.Database(t, "caldicott"),
		ConfigYAML: "audit: {publish_interval: 3s}\n"})
	tr.Start(t)
	alice := tr.HS.RegisterUser(t, "alice", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	room := tr.ClinicalRoom(t, alice)
	removeOutsider(t, tr, alice, room, "outsider1")
	waitHeadPublished(t, tr, auditHead(t, tr.Store))
	deviceBefore, masterBefore := botDevice(t, tr.Store), botMasterKey(t, tr)
	if deviceBefore == "" || masterBefore == "" {
		t.Fatalf("the bot has no device (%q) or identity (%q) before the backup", deviceBefore, masterBefore)
	}

	// The backup, taken while Caldicott runs (and renews its lease).
	dump := filepath.Join(t.TempDir(), "caldicott.dump")
	started := time.Now()
	pgDump(t, first, "caldicott", dump)
	t.Logf("pg_dump -Fc while running: %s", time.Since(started).Round(10*time.Millisecond))
	tr.Stop(t)

	// Restored into a new cluster; the same config but for the database.
	second := testenv.NewPostgresCluster(t)
	restoredURI := pgRestore(t, second, "caldicott", dump)
	tr.YAML = strings.Replace(tr.YAML, tr.Config.Database.URI, restoredURI, 1)
	tr.Config.Database.URI = restoredURI
	backedUp := auditHeadOf(t, restoredURI)
	tr.Start(t)
	if got := botDevice(t, tr.Store); got != deviceBefore {
		t.Errorf("the bot's device is %q after the restore, was %q", got, deviceBefore)
	}
	if got := botMasterKey(t, tr); got != masterBefore {
		t.Errorf("the bot's master key is %q after the restore, was %q", got, masterBefore)
	}
	if log := trust.Tail(tr.LogPath, 1<<20); strings.Contains(log, "no cross-signing identity") {
		t.Errorf("the bot lost its cross-signing identity after the restore:\n%s", log)
	}
	removeOutsider(t, tr, alice, room, "outsider2")
	waitHeadPublished(t, tr, auditHead(t, tr.Store))
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(tr.YAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := auditVerify(t, bin, cfg); code != 0 || !strings.Contains(out, "It matches the head published") {
		t.Errorf("audit verify on the restored database: exit %d\n%s", code, out)
	}
	tr.Stop(t)

	// The same backup again: now older than the last head published.
	older := pgRestore(t, second, "caldicott_older", dump)
	if err := os.WriteFile(cfg, []byte(strings.Replace(tr.YAML, restoredURI, older, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := auditVerify(t, bin, cfg)
	if code != 4 || !strings.Contains(out, fmt.Sprintf("ends at entry %d: entries were deleted", backedUp)) {
		t.Errorf("audit verify on a backup older than the published head: exit %d, want 4 naming entry %d as the end\n%s", code, backedUp, out)
	}
}

// removeOutsider invites a stranger and waits until the bot removed them
// (the room is told too, encrypted): entries in the audit log.
func removeOutsider(t *testing.T, tr *trust.Trust, alice *mautrix.Client, room id.RoomID, name string) {
	t.Helper()
	o := tr.HS.RegisterUser(t, name, false).UserID
	invite(t, alice, room, o)
	testenv.WaitMembership(t, alice, room, o, "leave")
}

// pgDump backs db up in PostgreSQL's custom format (pg_dump -Fc) to file.
func pgDump(t *testing.T, c *testenv.PGCluster, db, file string) {
	t.Helper()
	out, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := c.Command("pg_dump", "-Fc", "-d", db)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pg_dump: %v: %s", err, stderr.String())
	}
}

// pgRestore makes db in c and restores file into it, returning its URI.
func pgRestore(t *testing.T, c *testenv.PGCluster, db, file string) string {
	t.Helper()
	uri := c.Database(t, db)
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd := c.Command("pg_restore", "--exit-on-error", "--no-owner", "-d", db)
	cmd.Stdin = in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v: %s", err, out)
	}
	return uri
}

// auditVerify runs `caldicott audit verify` with cfg and returns its exit
// code and output.
func auditVerify(t *testing.T, bin, cfg string) (int, string) {
	t.Helper()
	out, err := exec.Command(bin, "audit", "verify", "-c", cfg).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("caldicott audit verify → exit %d\n%s", code, out)
	return code, string(out)
}

// auditHead is the last entry of st's audit chain.
func auditHead(t *testing.T, st *store.Store) int64 {
	t.Helper()
	r, err := st.VerifyAudit(ctx)
	if err != nil || !r.OK() {
		t.Fatalf("audit chain: %+v, %v", r, err)
	}
	return r.HeadSeq
}

// auditHeadOf is the last entry of the audit chain in the database at uri.
func auditHeadOf(t *testing.T, uri string) int64 {
	t.Helper()
	st, err := store.Open(ctx, store.Postgres, uri, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return auditHead(t, st)
}

// waitHeadPublished waits until the head published in the management room
// is at entry seq or later.
func waitHeadPublished(t *testing.T, tr *trust.Trust, seq int64) {
	t.Helper()
	bot := tr.BotClient(t)
	testenv.Eventually(t, 30*time.Second, fmt.Sprintf("a head at entry %d or later published", seq), func() (bool, string) {
		var head struct {
			Seq int64 `json:"seq"`
		}
		err := bot.StateEvent(ctx, tr.Service.ManagementRoom(), event.Type{Type: "org.caldicott.audit.head", Class: event.StateEventType}, "", &head)
		return err == nil && head.Seq >= seq, fmt.Sprint(head.Seq, err)
	})
}
