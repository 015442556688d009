package appservice_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// TestVerificationEnforcement: a member without cross-signing is told, then
// suspended after the grace and invited back once verified; a new unsigned
// device is noticed within seconds and suspends after its shorter grace; a
// reset identity suspends at once and the room is told.
func TestVerificationEnforcement(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: "verification: {new_member_grace: 4s, new_device_grace: 2s, check_interval: 1s}\n"})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	bob := tr.HS.RegisterUser(t, "bob", false)
	carol := tr.HS.RegisterUser(t, "carol", false)
	ig, mgmt := tr.IGAdmin(t)
	aliceCS := testenv.VerifiedMember(t, alice, "correct horse battery alice")
	carolCS := testenv.VerifiedMember(t, carol, "correct horse battery carol")
	for _, u := range []struct {
		cli *mautrix.Client
		cs  *testenv.CrossSigning
	}{{alice, aliceCS}, {carol, carolCS}} {
		testenv.Say(t, ig, mgmt, "!policy attest "+u.cli.UserID.String()+" "+spaced(u.cs.Master.Pub))
		testenv.WaitForNotice(t, ig, mgmt, bot, "Recorded: "+u.cli.UserID.String())
	}
	room := tr.ClinicalRoom(t, alice, bob, carol)

	t.Run("unverified member warned, suspended after the grace, readmitted when verified", func(t *testing.T) {
		testenv.WaitForNotice(t, alice, room, bot, bob.UserID.String()+": Cross-signing is not set up", "within 4s")
		waitGone(t, alice, room, bob.UserID, 20*time.Second)
		if reason := memberReason(t, alice, room, bob.UserID); !strings.Contains(reason, "Suspended from clinical rooms until your identity is verified") {
			t.Errorf("bob told %q", reason)
		}
		testenv.WaitForNotice(t, alice, room, bot, "I suspended "+bob.UserID.String())
		bobCS := testenv.VerifiedMember(t, bob, "correct horse battery bob")
		testenv.Say(t, ig, mgmt, "!policy attest "+bob.UserID.String()+" "+spaced(bobCS.Master.Pub))
		testenv.WaitMembership(t, alice, room, bob.UserID, "invite")
		testenv.WaitForNotice(t, alice, room, bot, bob.UserID.String()+"'s identity is verified again, so I have invited them back")
	})

	t.Run("new unsigned device noticed within seconds", func(t *testing.T) {
		laptop, err := mautrix.NewClient(tr.HS.URL, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := laptop.Login(ctx, &mautrix.ReqLogin{Type: mautrix.AuthTypePassword, Identifier: mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: "carol"}, Password: "correct horse battery carol", StoreCredentials: true}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		testenv.UploadDevice(t, laptop, testenv.NewSigningKey())
		testenv.WaitForNotice(t, alice, room, bot, carol.UserID.String()+": 1 device(s) are not verified")
		t.Logf("room told of the new unsigned device %s after it was published", time.Since(start).Round(time.Millisecond))
		waitGone(t, alice, room, carol.UserID, 20*time.Second)
	})

	t.Run("identity reset suspends at once and tells the room", func(t *testing.T) {
		if _, err := bob.JoinRoomByID(ctx, room); err != nil {
			t.Fatal(err)
		}
		reset := testenv.NewCrossSigning(bob.UserID.String())
		testenv.UploadCrossSigning(t, bob, "correct horse battery bob", reset, reset.SelfSigningJSON(reset.Master))
		testenv.WaitForNotice(t, alice, room, bot, "⚠ "+bob.UserID.String()+"'s identity has changed")
		waitGone(t, alice, room, bob.UserID, 20*time.Second)
	})

	t.Run("a suspended member let back in by an admin is suspended again", func(t *testing.T) {
		suspended := func() int {
			n := 0
			for _, notice := range testenv.BotNotices(t, alice, room, bot) {
				if strings.Contains(notice, "I suspended "+bob.UserID.String()) {
					n++
				}
			}
			return n
		}
		before := suspended()
		if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: bob.UserID}); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.JoinRoomByID(ctx, room); err != nil {
			t.Fatal(err)
		}
		waitGone(t, alice, room, bob.UserID, 20*time.Second)
		testenv.Eventually(t, 20*time.Second, "the room told of the second suspension", func() (bool, string) {
			n := suspended()
			return n > before, fmt.Sprintf("%d notices, %d before", n, before)
		})
	})

	t.Run("an admin with the bot's power cannot be suspended: people are told", func(t *testing.T) {
		reset := testenv.NewCrossSigning(alice.UserID.String())
		testenv.UploadCrossSigning(t, alice, "correct horse battery alice", reset, reset.SelfSigningJSON(reset.Master))
		testenv.WaitForNotice(t, ig, mgmt, bot, "I could not suspend "+alice.UserID.String())
		testenv.WaitForNotice(t, alice, room, bot, "⚠ "+alice.UserID.String()+"'s identity has changed")
	})
}

// TestVerificationSuspendByMuting: a room that prefers muting keeps an
// unverified member but takes their voice, and gives it back once verified.
func TestVerificationSuspendByMuting(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: "verification: {new_member_grace: 3s, check_interval: 1s}\n"})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	bob := tr.HS.RegisterUser(t, "bob", false)
	ig, mgmt := tr.IGAdmin(t)
	aliceCS := testenv.VerifiedMember(t, alice, "correct horse battery alice")
	testenv.Say(t, ig, mgmt, "!policy attest "+alice.UserID.String()+" "+spaced(aliceCS.Master.Pub))
	testenv.WaitForNotice(t, ig, mgmt, bot, "Recorded: "+alice.UserID.String())
	room := tr.ClinicalRoom(t, alice)
	testenv.Say(t, alice, room, "!policy suspend-mode mute")
	testenv.WaitForNotice(t, alice, room, bot, "will be muted here")
	if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: bob.UserID}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.JoinRoomByID(ctx, room); err != nil {
		t.Fatal(err)
	}
	level := func() int {
		var pl event.PowerLevelsEventContent
		if err := alice.StateEvent(ctx, room, event.StatePowerLevels, "", &pl); err != nil {
			t.Fatal(err)
		}
		return pl.GetUserLevel(bob.UserID)
	}
	testenv.Eventually(t, 20*time.Second, "bob to be muted", func() (bool, string) { return level() == -1, fmt.Sprint(level()) })
	if !isMember(t, alice, room, bob.UserID) {
		t.Fatal("a muted member was removed")
	}
	if _, err := bob.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: "can I post?"}); err == nil {
		t.Error("a muted member could still post")
	}
	testenv.WaitForNotice(t, alice, room, bot, "I muted "+bob.UserID.String())
	bobCS := testenv.VerifiedMember(t, bob, "correct horse battery bob")
	testenv.Say(t, ig, mgmt, "!policy attest "+bob.UserID.String()+" "+spaced(bobCS.Master.Pub))
	testenv.Eventually(t, 20*time.Second, "bob's voice back", func() (bool, string) { return level() == 0, fmt.Sprint(level()) })
	testenv.WaitForNotice(t, alice, room, bot, bob.UserID.String()+"'s identity is verified again, so they can post here again")
}
