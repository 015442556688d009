package trust

import (
	"context"
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
)

// CheckHardened asserts every protection of a clinical room, as read by a client.
func (tr *Trust) CheckHardened(t testing.TB, cli *mautrix.Client, roomID id.RoomID) {
	t.Helper()
	testenv.WaitForState(t, cli, roomID, "m.room.encryption", "algorithm", "m.megolm.v1.aes-sha2")
	testenv.WaitForState(t, cli, roomID, "m.room.join_rules", "join_rule", "invite")
	testenv.WaitForState(t, cli, roomID, "m.room.guest_access", "guest_access", "forbidden")
	testenv.WaitForState(t, cli, roomID, "m.room.history_visibility", "history_visibility", "joined")
	// The ACL is the last protection the bot sets: wait for it, like the others.
	testenv.Eventually(t, 20*time.Second, "the server ACL", func() (bool, string) {
		acl := testenv.StateContent(t, cli, roomID, "m.room.server_acl")
		return fmt.Sprint(acl["allow"]) == "[127.0.0.11 127.0.0.12]" && acl["allow_ip_literals"] == true, fmt.Sprint(acl)
	})
	var pl event.PowerLevelsEventContent
	if err := cli.StateEvent(context.Background(), roomID, event.StatePowerLevels, "", &pl); err != nil {
		t.Fatal(err)
	}
	if got := pl.GetUserLevel(tr.BotID()); got != 100 {
		t.Errorf("bot power = %d, want 100", got)
	}
	if c := testenv.StateContent(t, cli, roomID, "org.caldicott.policy"); c["class"] != "clinical" {
		t.Errorf("policy event = %v", c)
	}
}

// ClinicalRoom is the usual start of a scenario: owner creates a room,
// invites the bot and makes it admin, classifies the room clinical, waits for
// its protections, and the members join.
func (tr *Trust) ClinicalRoom(t testing.TB, owner *mautrix.Client, members ...*mautrix.Client) id.RoomID {
	t.Helper()
	req := &mautrix.ReqCreateRoom{Preset: "private_chat"}
	for _, m := range members {
		req.Invite = append(req.Invite, m.UserID)
	}
	room := testenv.RoomWithBot(t, owner, tr.BotID(), req)
	testenv.SetPower(t, owner, room, tr.BotID(), 100)
	testenv.Say(t, owner, room, "!policy classify clinical")
	tr.CheckHardened(t, owner, room)
	for _, m := range members {
		if _, err := m.JoinRoomByID(context.Background(), room); err != nil {
			t.Fatalf("%s joins: %v", m.UserID, err)
		}
	}
	return room
}

// IGAdmin registers the trust's IG admin (@ig, listed in the test config)
// and has them join the management room the bot created and invited them to.
func (tr *Trust) IGAdmin(t testing.TB) (*mautrix.Client, id.RoomID) {
	t.Helper()
	ig := tr.HS.RegisterUser(t, "ig", false)
	mgmt := tr.Service.ManagementRoom()
	if mgmt == "" {
		t.Fatal("no management room")
	}
	if _, err := ig.JoinRoomByID(context.Background(), mgmt); err != nil {
		t.Fatalf("IG admin joins the management room: %v", err)
	}
	return ig, mgmt
}

// Federate joins two planned trusts into one federation with a shared
// policy list hosted by the first, whose IG admin is the federation's admin.
func Federate(a, b *Trust) {
	list := "#caldicott-federation:" + a.HS.ServerName
	a.Config.Federation.Servers = []string{b.HS.ServerName}
	b.Config.Federation.Servers = []string{a.HS.ServerName}
	for _, tr := range []*Trust{a, b} {
		tr.Config.Federation.PolicyList = list
		tr.Config.Federation.Admins = []string{"@ig:" + a.HS.ServerName}
		tr.Config.Federation.AttestationRooms = nil
	}
}
