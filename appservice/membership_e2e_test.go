package appservice_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

func isMember(t *testing.T, cli *mautrix.Client, roomID id.RoomID, user id.UserID) bool {
	t.Helper()
	m, err := cli.JoinedMembers(ctx, roomID)
	if err != nil {
		t.Fatal(err)
	}
	_, ok := m.Joined[user]
	return ok
}

func waitGone(t *testing.T, cli *mautrix.Client, roomID id.RoomID, user id.UserID, within time.Duration) {
	t.Helper()
	testenv.Eventually(t, within, fmt.Sprintf("%s to be removed", user), func() (bool, string) {
		var member struct {
			Membership string `json:"membership"`
			Reason     string `json:"reason"`
		}
		err := cli.StateEvent(ctx, roomID, event_member, user.String(), &member)
		return err == nil && member.Membership == "leave", fmt.Sprint(member, err)
	})
}

// TestJoinGateOnRealDendrite: who may enter and stay in a clinical room.
func TestJoinGateOnRealDendrite(t *testing.T) {
	bridgeReg := filepath.Join(t.TempDir(), "whatsapp-registration.yaml")
	if err := os.WriteFile(bridgeReg, []byte("id: whatsapp\nas_token: x\nhs_token: y\nsender_localpart: whatsappbot\nurl: http://127.0.0.1:1\nnamespaces:\n  users:\n    - regex: '^@whatsapp_.+$'\n      exclusive: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: fmt.Sprintf("directory: {sync_interval: 10s}\nbridges: {registrations: [%q]}\n", bridgeReg)})
	tr.Start(t)
	bot := tr.BotID()
	server := tr.HS.ServerName
	alice := tr.HS.RegisterUser(t, "alice", false)
	dave := tr.HS.RegisterUser(t, "dave", false)
	erin := tr.HS.RegisterUser(t, "erin", false)
	eve := tr.HS.RegisterUser(t, "eve", false)
	bob := tr.HS.RegisterUser(t, "bob", false)
	puppet := tr.HS.RegisterUser(t, "whatsapp_447700900123", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Team: "Cardiology", Registration: "GMC 1234567", Status: "active", Source: "csv"},
		{UserID: dave.UserID.String(), Name: "Dave Patel", Role: "Staff Nurse", Team: "Ward 7", Registration: "NMC 12A3456B", Status: "active", Source: "csv"},
		{UserID: erin.UserID.String(), Name: "Erin Wu", Role: "Registrar", Team: "Cardiology", Registration: "GMC 7654321", Status: "active", Source: "csv"},
		{UserID: eve.UserID.String(), Name: "Eve Brown", Role: "Porter", Status: "active", Source: "csv"},
		{UserID: puppet.UserID.String(), Name: "Puppet", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	ig, mgmt := tr.IGAdmin(t)

	room := tr.ClinicalRoom(t, alice)

	invite := func(u id.UserID) {
		t.Helper()
		if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: u}); err != nil {
			t.Fatalf("invite %s: %v", u, err)
		}
	}

	t.Run("eligible joiner stays, identity shown", func(t *testing.T) {
		invite(dave.UserID)
		if _, err := dave.JoinRoomByID(ctx, room); err != nil {
			t.Fatal(err)
		}
		testenv.WaitForNotice(t, alice, room, bot, dave.UserID.String()+" joined: Dave Patel · Staff Nurse · Ward 7 · NMC 12A3456B · Trust A.")
		if !isMember(t, alice, room, dave.UserID) {
			t.Fatal("eligible member removed")
		}
	})

	t.Run("invite to someone not in the directory is revoked with a reason", func(t *testing.T) {
		invite(bob.UserID)
		waitGone(t, alice, room, bob.UserID, 20*time.Second)
		testenv.WaitForNotice(t, alice, room, bot, "I removed "+bob.UserID.String(), "not in the staff directory")
		reason := memberReason(t, alice, room, bob.UserID)
		if !strings.Contains(reason, "is not in the staff directory of Trust A") {
			t.Errorf("bob is told %q", reason)
		}
		if _, err := bob.JoinRoomByID(ctx, room); err == nil {
			t.Error("bob could still join after his invite was revoked")
		}
	})

	t.Run("bridge puppet removed", func(t *testing.T) {
		invite(puppet.UserID)
		waitGone(t, alice, room, puppet.UserID, 20*time.Second)
		if reason := memberReason(t, alice, room, puppet.UserID); !strings.Contains(reason, "is a bridged account") {
			t.Errorf("puppet told %q", reason)
		}
	})

	t.Run("personal-server account that got in while Caldicott was down is removed", func(t *testing.T) {
		outside := testenv.StartHomeserver(t, testenv.HomeserverOptions{IP: "127.0.0.13"})
		mallory := outside.RegisterUser(t, "mallory", false)
		tr.Stop(t)
		// With Caldicott away, the ACL is opened and an outsider walks in.
		testenv.SetState(t, alice, room, "m.room.server_acl", map[string]any{"allow": []string{"*"}, "allow_ip_literals": true})
		invite(mallory.UserID)
		testenv.AcceptedOverFederation(t, mallory, room, tr.HS.ServerName)
		tr.Start(t)
		waitGone(t, alice, room, mallory.UserID, 20*time.Second)
		if reason := memberReason(t, alice, room, mallory.UserID); !strings.Contains(reason, "are personal accounts or belong to an organisation outside this federation") {
			t.Errorf("mallory told %q", reason)
		}
		testenv.WaitForState(t, alice, room, "m.room.server_acl", "allow", "[127.0.0.11 127.0.0.12]")
	})

	t.Run("display name imitating a member is flagged", func(t *testing.T) {
		if err := eve.SetDisplayName(ctx, "Alice Smith"); err != nil {
			t.Fatal(err)
		}
		invite(eve.UserID)
		if _, err := eve.JoinRoomByID(ctx, room); err != nil {
			t.Fatal(err)
		}
		testenv.WaitForNotice(t, alice, room, bot, eve.UserID.String()+` shows the name "Alice Smith", which the staff directory gives to `+alice.UserID.String())
	})

	t.Run("leaver command removes from every clinical room", func(t *testing.T) {
		second := testenv.RoomWithBot(t, alice, bot, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{dave.UserID}})
		testenv.SetPower(t, alice, second, bot, 100)
		if _, err := dave.JoinRoomByID(ctx, second); err != nil {
			t.Fatal(err)
		}
		testenv.Say(t, alice, second, "!policy classify clinical")
		tr.CheckHardened(t, alice, second)
		testenv.Say(t, ig, mgmt, "!policy leaver "+dave.UserID.String()+" last shift 2026-11-20")
		testenv.WaitForNotice(t, ig, mgmt, bot, dave.UserID.String()+" is recorded as having left Trust A and was removed from 2 clinical room(s)")
		waitGone(t, alice, room, dave.UserID, 10*time.Second)
		waitGone(t, alice, second, dave.UserID, 10*time.Second)
		if reason := memberReason(t, alice, room, dave.UserID); !strings.Contains(reason, "records that you have left the trust") {
			t.Errorf("dave told %q", reason)
		}
	})

	t.Run("non-admin cannot use leaver", func(t *testing.T) {
		// alice is not an IG admin and not in the management room; in her own
		// room the command is refused for its place first.
		testenv.Say(t, alice, room, "!policy leaver "+erin.UserID.String())
		testenv.WaitForNotice(t, alice, room, bot, "works only in the trust's management room")
	})

	t.Run("suspension in the directory removes within one sync interval", func(t *testing.T) {
		invite(erin.UserID)
		if _, err := erin.JoinRoomByID(ctx, room); err != nil {
			t.Fatal(err)
		}
		testenv.WaitForNotice(t, alice, room, bot, erin.UserID.String()+" joined: Erin Wu")
		start := time.Now()
		if err := tr.Store.SetStaffStatus(ctx, erin.UserID.String(), "suspended"); err != nil {
			t.Fatal(err)
		}
		waitGone(t, alice, room, erin.UserID, 25*time.Second)
		t.Logf("suspended member removed %s after the directory changed (sync interval 10s)", time.Since(start).Round(time.Second))
	})

	_ = server
}

func memberReason(t *testing.T, cli *mautrix.Client, roomID id.RoomID, user id.UserID) string {
	t.Helper()
	var member struct {
		Reason string `json:"reason"`
	}
	if err := cli.StateEvent(ctx, roomID, event_member, user.String(), &member); err != nil {
		t.Fatalf("member event of %s: %v", user, err)
	}
	return member.Reason
}
