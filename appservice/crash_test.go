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

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// failpointBinary is the caldicott binary built with the failpoint tag
// (trust.Binary), for the tests in this package that run it.
func failpointBinary(t *testing.T) string { return trust.Binary(t) }

// TestCrashBetweenDecisionAndAction stops the real process (SIGKILL) at
// each step between deciding to revoke an outsider's invitation and the
// last action of that decision, starts it again, and checks the outcome:
// the invitation revoked once, the room told once, the audit log saying so
// once — nothing lost, nothing doubled.
func TestCrashBetweenDecisionAndAction(t *testing.T) {
	bin := failpointBinary(t)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(tr.YAML), 0o600); err != nil {
		t.Fatal(err)
	}
	tr.Start(t)
	alice := tr.HS.RegisterUser(t, "alice", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	room := tr.ClinicalRoom(t, alice)
	tr.Stop(t)

	// The revocation is two actions: the kick, then the notice to the room.
	steps := []string{"planned:kick", "performed:0:kick", "completed:0:kick", "performed:1:notify_room", "completed:1:notify_room"}
	for i, step := range steps {
		t.Run(step, func(t *testing.T) {
			outsider := tr.HS.RegisterUser(t, fmt.Sprintf("outsider%d", i), false)
			logPath := filepath.Join(t.TempDir(), "caldicott.log")
			logFile, err := os.Create(logPath)
			if err != nil {
				t.Fatal(err)
			}
			defer logFile.Close()
			cmd := exec.Command(bin, "-c", cfgPath)
			cmd.Env = append(os.Environ(), "CALDICOTT_FAILPOINT="+step)
			cmd.Stdout, cmd.Stderr = logFile, logFile
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: outsider.UserID}); err != nil {
				t.Fatalf("invite: %v", err)
			}
			select {
			case err := <-exited:
				if err == nil || !strings.Contains(err.Error(), "killed") {
					t.Fatalf("caldicott ended with %v, want killed at %s\n%s", err, step, trust.Tail(logPath, 3000))
				}
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("caldicott never reached %s\n%s", step, trust.Tail(logPath, 3000))
			}

			tr.Start(t)
			defer tr.Stop(t)
			testenv.Eventually(t, 30*time.Second, "the invitation revoked", func() (bool, string) {
				var m event.MemberEventContent
				if err := alice.StateEvent(ctx, room, event.StateMember, outsider.UserID.String(), &m); err != nil {
					return false, err.Error()
				}
				return m.Membership == event.MembershipLeave, string(m.Membership)
			})
			testenv.WaitForNotice(t, alice, room, tr.BotID(), "I removed "+outsider.UserID.String())
			// Give a repeat every chance to show before counting.
			testenv.Quiet(t, 2*time.Second, "no repeated notice of the removal", func() (bool, string) {
				n := 0
				for _, b := range testenv.BotNotices(t, alice, room, tr.BotID()) {
					if strings.Contains(b, outsider.UserID.String()) {
						n++
					}
				}
				return n <= 1, fmt.Sprint(n, " notices")
			})
			notices := 0
			for _, n := range testenv.BotNotices(t, alice, room, tr.BotID()) {
				if strings.Contains(n, outsider.UserID.String()) {
					notices++
				}
			}
			kicks, members := 0, 0
			resp, err := alice.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, evt := range resp.Chunk {
				if evt.Type == event.StateMember && evt.GetStateKey() == outsider.UserID.String() {
					members++
					_ = evt.Content.ParseRaw(evt.Type)
					if evt.Content.AsMember().Membership == event.MembershipLeave {
						kicks++
					}
				}
			}
			audited := 0
			entries, err := tr.Store.AuditForRoom(ctx, room.String(), 500)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Action == "kick" && strings.Contains(e.Detail, outsider.UserID.String()) {
					audited++
				}
			}
			if notices != 1 || kicks != 1 || audited != 1 {
				t.Errorf("after a crash at %s: %d notices, %d removals, %d audited kicks; want one of each", step, notices, kicks, audited)
			}
		})
	}
}
