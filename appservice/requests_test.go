package appservice_test

import (
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/store"
)

func membershipOf(t *testing.T, cli *mautrix.Client, roomID id.RoomID, user id.UserID) string {
	t.Helper()
	var member struct {
		Membership string `json:"membership"`
	}
	_ = cli.StateEvent(ctx, roomID, event_member, user.String(), &member)
	return member.Membership
}

func waitMembership(t *testing.T, cli *mautrix.Client, roomID id.RoomID, user id.UserID, want string) {
	t.Helper()
	eventually(t, 20*time.Second, fmt.Sprintf("%s to be %s", user, want), func() (bool, string) {
		got := membershipOf(t, cli, roomID, user)
		return got == want, got
	})
}

// TestAccessRequests: asking through the bot, approval and denial by a
// room admin, auto-approval by directory, invitations by non-admins and knocks.
func TestAccessRequests(t *testing.T) {
	tr := newTrust(t, "127.0.0.11", "", "")
	tr.startCaldicott(t, true)
	bot := tr.botID()
	users := map[string]*mautrix.Client{}
	var staff []store.StaffRecord
	for _, u := range []struct{ local, name string }{{"alice", "Alice Smith"}, {"dave", "Dave Patel"}, {"erin", "Erin Wu"}, {"frank", "Frank Ode"}, {"gina", "Gina Li"}, {"harry", "Harry Cole"}} {
		users[u.local] = tr.hs.RegisterUser(t, u.local, false)
		staff = append(staff, store.StaffRecord{UserID: users[u.local].UserID.String(), Name: u.name, Role: "Staff Nurse", Team: "Ward 7", Status: "active", Source: "csv"})
	}
	bob := tr.hs.RegisterUser(t, "bob", false) // not in the directory
	if err := tr.store.UpsertStaff(ctx, staff); err != nil {
		t.Fatal(err)
	}
	alice, dave, erin, frank, gina := users["alice"], users["dave"], users["erin"], users["frank"], users["gina"]
	room := roomWithBot(t, alice, bot, &mautrix.ReqCreateRoom{Preset: "private_chat", RoomAliasName: "ward7"})
	setPower(t, alice, room, bot, 100)
	say(t, alice, room, "!policy classify clinical")
	checkHardened(t, alice, room, tr)
	alias := "#ward7:" + tr.hs.ServerName

	dm := func(cli *mautrix.Client) id.RoomID {
		return roomWithBot(t, cli, bot, &mautrix.ReqCreateRoom{Preset: "trusted_private_chat", IsDirect: true})
	}

	t.Run("request, approve, requester told", func(t *testing.T) {
		d := dm(dave)
		say(t, dave, d, "!policy request "+alias+" covering nights on Ward 7")
		waitForNotice(t, dave, d, bot, "I have asked the admins of "+alias)
		waitForNotice(t, alice, room, bot, dave.UserID.String()+" (Dave Patel · Staff Nurse · Ward 7 · Trust A) asks to join this room.", "Their reason: covering nights on Ward 7", "!policy approve "+dave.UserID.String())
		say(t, dave, d, "!policy request "+alias)
		waitForNotice(t, dave, d, bot, "You have already asked to join")
		say(t, alice, room, "!policy approve "+dave.UserID.String())
		waitMembership(t, alice, room, dave.UserID, "invite")
		waitForNotice(t, dave, d, bot, "Your request to join "+room.String()+" was approved by "+alice.UserID.String())
		if _, err := dave.JoinRoomByID(ctx, room); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("request, deny with reason, requester told", func(t *testing.T) {
		d := dm(frank)
		say(t, frank, d, "!policy request "+room.String())
		waitForNotice(t, alice, room, bot, frank.UserID.String()+" (Frank Ode")
		say(t, alice, room, "!policy deny "+frank.UserID.String()+" this room is for the night team")
		waitForNotice(t, frank, d, bot, "was declined by "+alice.UserID.String()+". Their reason: this room is for the night team")
		if m := membershipOf(t, alice, room, frank.UserID); m != "" {
			t.Errorf("denied requester has membership %q", m)
		}
		say(t, alice, room, "!policy approve "+frank.UserID.String())
		waitForNotice(t, alice, room, bot, "There is no request from "+frank.UserID.String()+" waiting in this room")
	})

	t.Run("ineligible requester told at once", func(t *testing.T) {
		d := dm(bob)
		say(t, bob, d, "!policy request "+alias)
		waitForNotice(t, bob, d, bot, "I cannot pass your request on.", "is not in the staff directory of Trust A")
		say(t, bob, d, "!policy request #nowhere:"+tr.hs.ServerName)
		waitForNotice(t, bob, d, bot, "I cannot find a room called #nowhere:")
		say(t, bob, d, "!policy request ward7")
		waitForNotice(t, bob, d, bot, `"ward7" is not a room address`)
	})

	t.Run("non-admin's invitation becomes a request", func(t *testing.T) {
		if _, err := dave.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: erin.UserID}); err != nil {
			t.Fatalf("dave invites erin: %v", err)
		}
		waitMembership(t, alice, room, erin.UserID, "leave")
		waitForNotice(t, alice, room, bot, dave.UserID.String()+" invited "+erin.UserID.String(), "need a room admin's approval", "!policy approve "+erin.UserID.String())
		say(t, alice, room, "!policy approve "+erin.UserID.String())
		waitMembership(t, alice, room, erin.UserID, "invite")
		waitForNotice(t, alice, room, bot, "I have invited "+erin.UserID.String(), "who invited them, may want to let them know")
	})

	t.Run("auto-approve by directory", func(t *testing.T) {
		setState(t, alice, room, "org.caldicott.policy", map[string]any{"class": "clinical", "auto_approve": "directory"})
		time.Sleep(300 * time.Millisecond)
		d := dm(gina)
		say(t, gina, d, "!policy request "+alias)
		waitForNotice(t, gina, d, bot, "You meet the rules of "+alias+", so I have invited you")
		waitMembership(t, alice, room, gina.UserID, "invite")
	})

	t.Run("knock handled like a request", func(t *testing.T) {
		setState(t, alice, room, "org.caldicott.policy", map[string]any{"class": "clinical"})
		harry := users["harry"]
		// Dendrite v0.15.2 cannot knock; deliver a knock as a homeserver
		// that can would.
		knock := fmt.Sprintf(`{"events":[{"type":"m.room.member","state_key":%q,"sender":%q,"room_id":%q,"event_id":"$harry-knock","origin_server_ts":1,"content":{"membership":"knock","reason":"on call tonight"}}]}`, harry.UserID, harry.UserID, room)
		if code := putTransaction(t, tr, "harry-knock", knock); code != 200 {
			t.Fatalf("transaction answered %d", code)
		}
		waitForNotice(t, alice, room, bot, harry.UserID.String()+" (Harry Cole", "knocked and asks to join")
		say(t, alice, room, "!policy approve "+harry.UserID.String())
		waitMembership(t, alice, room, harry.UserID, "invite")
	})

	t.Run("only admins approve", func(t *testing.T) {
		say(t, dave, room, "!policy approve "+bob.UserID.String())
		waitForNotice(t, alice, room, bot, "You need power level 50 in this room to change its policy (you have 0)")
	})
}
