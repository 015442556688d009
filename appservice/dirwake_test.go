package appservice_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// TestDirectoryImportWakesTheService: a leaver marked by `caldicott
// directory import` — another process — is removed from clinical rooms
// within seconds, although the directory sweep runs only every ten minutes.
func TestDirectoryImportWakesTheService(t *testing.T) {
	bin := failpointBinary(t) // no CALDICOTT_FAILPOINT: an ordinary binary
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: "directory: {sync_interval: 10m}\n"})
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(tr.YAML), 0o600); err != nil {
		t.Fatal(err)
	}
	tr.Start(t)
	alice := tr.HS.RegisterUser(t, "alice", false)
	bob := tr.HS.RegisterUser(t, "bob", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
		{UserID: bob.UserID.String(), Name: "Bob Jones", Role: "Registrar", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	room := tr.ClinicalRoom(t, alice, bob)

	csv := filepath.Join(t.TempDir(), "staff.csv")
	body := fmt.Sprintf("user_id,name,status,role\n%s,Alice Smith,active,Consultant\n%s,Bob Jones,left,Registrar\n", alice.UserID, bob.UserID)
	if err := os.WriteFile(csv, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := exec.Command(bin, "directory", "import", "-c", cfgPath, csv).CombinedOutput()
	if err != nil {
		t.Fatalf("directory import: %v\n%s", err, out)
	}
	testenv.Eventually(t, 15*time.Second, "the leaver removed", func() (bool, string) {
		var m event.MemberEventContent
		if err := alice.StateEvent(ctx, room, event.StateMember, bob.UserID.String(), &m); err != nil {
			return false, err.Error()
		}
		return m.Membership == event.MembershipLeave, string(m.Membership)
	})
	t.Logf("leaver removed %s after the import started", time.Since(start).Round(10*time.Millisecond))
	entries, err := tr.Store.AuditForRoom(ctx, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	audited := false
	for _, e := range entries {
		if e.Action == store.ActionDirectoryChange && strings.Contains(e.Detail, bob.UserID.String()) && !strings.Contains(e.Detail, "Bob Jones") {
			audited = true
		}
	}
	if !audited {
		t.Errorf("the import is not audited by user ID alone: %+v", entries)
	}
}
