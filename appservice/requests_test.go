package appservice_test

import (
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// TestAccessRequests: asking through the bot, approval and denial by a
// room admin, auto-approval by directory, invitations by non-admins and knocks.
func TestAccessRequests(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	tr.Start(t)
	bot := tr.BotID()
	users := map[string]*mautrix.Client{}
	var staff []store.StaffRecord
	for _, u := range []struct{ local, name string }{{"alice", "Alice Smith"}, {"dave", "Dave Patel"}, {"erin", "Erin Wu"}, {"frank", "Frank Ode"}, {"gina", "Gina Li"}, {"harry", "Harry Cole"}} {
		users[u.local] = tr.HS.RegisterUser(t, u.local, false)
		staff = append(staff, store.StaffRecord{UserID: users[u.local].UserID.String(), Name: u.name, Role: "Staff Nurse", Team: "Ward 7", Status: "active", Source: "csv"})
	}
	bob := tr.HS.RegisterUser(t, "bob", false) // not in the directory
	if err := tr.Store.UpsertStaff(ctx, staff); err != nil {
		t.Fatal(err)
	}
	alice, dave, erin, frank, gina := users["alice"], users["dave"], users["erin"], users["frank"], users["gina"]
	room := testenv.RoomWithBot(t, alice, bot, &mautrix.ReqCreateRoom{Preset: "private_chat", RoomAliasName: "ward7"})
	testenv.SetPower(t, alice, room, bot, 100)
	testenv.Say(t, alice, room, "!policy classify clinical")
	tr.CheckHardened(t, alice, room)
	alias := "#ward7:" + tr.HS.ServerName

	dm := func(cli *mautrix.Client) id.RoomID {
		return testenv.RoomWithBot(t, cli, bot, &mautrix.ReqCreateRoom{Preset: "trusted_private_chat", IsDirect: true})
	}

	t.Run("request, approve, requester told", func(t *testing.T) {
		d := dm(dave)
		testenv.Say(t, dave, d, "!policy request "+alias+" covering nights on Ward 7")
		testenv.WaitForNotice(t, dave, d, bot, "I have asked the admins of "+alias)
		testenv.WaitForNotice(t, alice, room, bot, dave.UserID.String()+" (Dave Patel · Staff Nurse · Ward 7 · Trust A) asks to join this room.", "Their reason: covering nights on Ward 7", "!policy approve "+dave.UserID.String())
		testenv.Say(t, dave, d, "!policy request "+alias)
		testenv.WaitForNotice(t, dave, d, bot, "You have already asked to join")
		testenv.Say(t, alice, room, "!policy approve "+dave.UserID.String())
		testenv.WaitMembership(t, alice, room, dave.UserID, "invite")
		testenv.WaitForNotice(t, dave, d, bot, "Your request to join "+room.String()+" was approved by "+alice.UserID.String())
		if _, err := dave.JoinRoomByID(ctx, room); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("request, deny with reason, requester told", func(t *testing.T) {
		d := dm(frank)
		testenv.Say(t, frank, d, "!policy request "+room.String())
		testenv.WaitForNotice(t, alice, room, bot, frank.UserID.String()+" (Frank Ode")
		testenv.Say(t, alice, room, "!policy deny "+frank.UserID.String()+" this room is for the night team")
		testenv.WaitForNotice(t, frank, d, bot, "was declined by "+alice.UserID.String()+". Their reason: this room is for the night team")
		if m := testenv.MembershipOf(t, alice, room, frank.UserID); m != "" {
			t.Errorf("denied requester has membership %q", m)
		}
		testenv.Say(t, alice, room, "!policy approve "+frank.UserID.String())
		testenv.WaitForNotice(t, alice, room, bot, "There is no request from "+frank.UserID.String()+" waiting in this room")
	})

	t.Run("ineligible requester told at once", func(t *testing.T) {
		d := dm(bob)
		testenv.Say(t, bob, d, "!policy request "+alias)
		testenv.WaitForNotice(t, bob, d, bot, "I cannot pass your request on.", "is not in the staff directory of Trust A")
		testenv.Say(t, bob, d, "!policy request #nowhere:"+tr.HS.ServerName)
		testenv.WaitForNotice(t, bob, d, bot, "I cannot find a room called #nowhere:")
		testenv.Say(t, bob, d, "!policy request ward7")
		testenv.WaitForNotice(t, bob, d, bot, `"ward7" is not a room address`)
	})

	t.Run("non-admin's invitation becomes a request", func(t *testing.T) {
		if _, err := dave.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: erin.UserID}); err != nil {
			t.Fatalf("dave invites erin: %v", err)
		}
		testenv.WaitMembership(t, alice, room, erin.UserID, "leave")
		testenv.WaitForNotice(t, alice, room, bot, dave.UserID.String()+" invited "+erin.UserID.String(), "need a room admin's approval", "!policy approve "+erin.UserID.String())
		testenv.Say(t, alice, room, "!policy approve "+erin.UserID.String())
		testenv.WaitMembership(t, alice, room, erin.UserID, "invite")
		testenv.WaitForNotice(t, alice, room, bot, "I have invited "+erin.UserID.String(), "who invited them, may want to let them know")
	})

	t.Run("auto-approve by directory", func(t *testing.T) {
		testenv.SetState(t, alice, room, "org.caldicott.policy", map[string]any{"class": "clinical", "auto_approve": "directory"})
		time.Sleep(300 * time.Millisecond)
		d := dm(gina)
		testenv.Say(t, gina, d, "!policy request "+alias)
		testenv.WaitForNotice(t, gina, d, bot, "You meet the rules of "+alias+", so I have invited you")
		testenv.WaitMembership(t, alice, room, gina.UserID, "invite")
	})

	t.Run("knock handled like a request", func(t *testing.T) {
		testenv.SetState(t, alice, room, "org.caldicott.policy", map[string]any{"class": "clinical"})
		harry := users["harry"]
		// Dendrite v0.15.2 cannot knock; deliver a knock as a homeserver
		// that can would.
		knock := fmt.Sprintf(`{"events":[{"type":"m.room.member","state_key":%q,"sender":%q,"room_id":%q,"event_id":"$harry-knock","origin_server_ts":1,"content":{"membership":"knock","reason":"on call tonight"}}]}`, harry.UserID, harry.UserID, room)
		if code := putTransaction(t, tr, "harry-knock", knock); code != 200 {
			t.Fatalf("transaction answered %d", code)
		}
		testenv.WaitForNotice(t, alice, room, bot, harry.UserID.String()+" (Harry Cole", "knocked and asks to join")
		testenv.Say(t, alice, room, "!policy approve "+harry.UserID.String())
		testenv.WaitMembership(t, alice, room, harry.UserID, "invite")
	})

	t.Run("only admins approve", func(t *testing.T) {
		testenv.Say(t, dave, room, "!policy approve "+bob.UserID.String())
		testenv.WaitForNotice(t, alice, room, bot, "You need power level 50 in this room to change its policy (you have 0)")
	})
}
