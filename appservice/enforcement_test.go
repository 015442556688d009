package appservice_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"github.com/caldicott/caldicott/internal/testenv"
)

// verifiedMember sets up cross-signing for cli, signs its device and has the
// trust attest it, as a fully verified clinician would be.
func verifiedMember(t *testing.T, tr *trust, cli *mautrix.Client, password string) *testenv.CrossSigning {
	t.Helper()
	device := testenv.NewSigningKey()
	testenv.UploadDevice(t, cli, device)
	cs := testenv.NewCrossSigning(cli.UserID.String())
	testenv.UploadCrossSigning(t, cli, password, cs, cs.SelfSigningJSON(cs.Master))
	testenv.SignDevice(t, cli, cs, cs.SelfSigning, device)
	return cs
}

// TestVerificationEnforcement: a member without cross-signing is told, then
// suspended after the grace and invited back once verified; a new unsigned
// device is noticed within seconds and suspends after its shorter grace; a
// reset identity suspends at once and the room is told.
func TestVerificationEnforcement(t *testing.T) {
	tr := newTrust(t, "127.0.0.11", "", "verification: {new_member_grace: 4s, new_device_grace: 2s, check_interval: 1s}\n")
	tr.startCaldicott(t, true)
	bot := tr.botID()
	alice := tr.hs.RegisterUser(t, "alice", false)
	bob := tr.hs.RegisterUser(t, "bob", false)
	carol := tr.hs.RegisterUser(t, "carol", false)
	ig, mgmt := igAdmin(t, tr)
	aliceCS := verifiedMember(t, tr, alice, "correct horse battery alice")
	carolCS := verifiedMember(t, tr, carol, "correct horse battery carol")
	for _, u := range []struct {
		cli *mautrix.Client
		cs  *testenv.CrossSigning
	}{{alice, aliceCS}, {carol, carolCS}} {
		say(t, ig, mgmt, "!policy attest "+u.cli.UserID.String()+" "+spaced(u.cs.Master.Pub))
		waitForNotice(t, ig, mgmt, bot, "Recorded: "+u.cli.UserID.String())
	}
	room := clinicalRoom(t, tr, alice, bob, carol)

	t.Run("unverified member warned, suspended after the grace, readmitted when verified", func(t *testing.T) {
		waitForNotice(t, alice, room, bot, bob.UserID.String()+": Cross-signing is not set up", "within 4s")
		waitGone(t, alice, room, bob.UserID, 20*time.Second)
		if reason := memberReason(t, alice, room, bob.UserID); !strings.Contains(reason, "Suspended from clinical rooms until your identity is verified") {
			t.Errorf("bob told %q", reason)
		}
		waitForNotice(t, alice, room, bot, "I suspended "+bob.UserID.String())
		bobCS := verifiedMember(t, tr, bob, "correct horse battery bob")
		say(t, ig, mgmt, "!policy attest "+bob.UserID.String()+" "+spaced(bobCS.Master.Pub))
		waitMembership(t, alice, room, bob.UserID, "invite")
		waitForNotice(t, alice, room, bot, bob.UserID.String()+"'s identity is verified again, so I have invited them back")
	})

	t.Run("new unsigned device noticed within seconds", func(t *testing.T) {
		laptop, err := mautrix.NewClient(tr.hs.URL, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := laptop.Login(ctx, &mautrix.ReqLogin{Type: mautrix.AuthTypePassword, Identifier: mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: "carol"}, Password: "correct horse battery carol", StoreCredentials: true}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		testenv.UploadDevice(t, laptop, testenv.NewSigningKey())
		waitForNotice(t, alice, room, bot, carol.UserID.String()+": 1 device(s) are not verified")
		t.Logf("room told of the new unsigned device %s after it was published", time.Since(start).Round(time.Millisecond))
		waitGone(t, alice, room, carol.UserID, 20*time.Second)
	})

	t.Run("identity reset suspends at once and tells the room", func(t *testing.T) {
		if _, err := bob.JoinRoomByID(ctx, room); err != nil {
			t.Fatal(err)
		}
		reset := testenv.NewCrossSigning(bob.UserID.String())
		testenv.UploadCrossSigning(t, bob, "correct horse battery bob", reset, reset.SelfSigningJSON(reset.Master))
		waitForNotice(t, alice, room, bot, "⚠ "+bob.UserID.String()+"'s identity has changed")
		waitGone(t, alice, room, bob.UserID, 20*time.Second)
	})

	t.Run("a suspended member let back in by an admin is suspended again", func(t *testing.T) {
		suspended := func() int {
			n := 0
			for _, notice := range botNotices(t, alice, room, bot) {
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
		eventually(t, 20*time.Second, "the room told of the second suspension", func() (bool, string) {
			n := suspended()
			return n > before, fmt.Sprintf("%d notices, %d before", n, before)
		})
	})

	t.Run("an admin with the bot's power cannot be suspended: people are told", func(t *testing.T) {
		reset := testenv.NewCrossSigning(alice.UserID.String())
		testenv.UploadCrossSigning(t, alice, "correct horse battery alice", reset, reset.SelfSigningJSON(reset.Master))
		waitForNotice(t, ig, mgmt, bot, "I could not suspend "+alice.UserID.String())
		waitForNotice(t, alice, room, bot, "⚠ "+alice.UserID.String()+"'s identity has changed")
	})
}

// TestVerificationSuspendByMuting: a room that prefers muting keeps an
// unverified member but takes their voice, and gives it back once verified.
func TestVerificationSuspendByMuting(t *testing.T) {
	tr := newTrust(t, "127.0.0.11", "", "verification: {new_member_grace: 3s, check_interval: 1s}\n")
	tr.startCaldicott(t, true)
	bot := tr.botID()
	alice := tr.hs.RegisterUser(t, "alice", false)
	bob := tr.hs.RegisterUser(t, "bob", false)
	ig, mgmt := igAdmin(t, tr)
	aliceCS := verifiedMember(t, tr, alice, "correct horse battery alice")
	say(t, ig, mgmt, "!policy attest "+alice.UserID.String()+" "+spaced(aliceCS.Master.Pub))
	waitForNotice(t, ig, mgmt, bot, "Recorded: "+alice.UserID.String())
	room := clinicalRoom(t, tr, alice)
	say(t, alice, room, "!policy suspend-mode mute")
	waitForNotice(t, alice, room, bot, "will be muted here")
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
	eventually(t, 20*time.Second, "bob to be muted", func() (bool, string) { return level() == -1, fmt.Sprint(level()) })
	if !isMember(t, alice, room, bob.UserID) {
		t.Fatal("a muted member was removed")
	}
	if _, err := bob.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: "can I post?"}); err == nil {
		t.Error("a muted member could still post")
	}
	waitForNotice(t, alice, room, bot, "I muted "+bob.UserID.String())
	bobCS := verifiedMember(t, tr, bob, "correct horse battery bob")
	say(t, ig, mgmt, "!policy attest "+bob.UserID.String()+" "+spaced(bobCS.Master.Pub))
	eventually(t, 20*time.Second, "bob's voice back", func() (bool, string) { return level() == 0, fmt.Sprint(level()) })
	waitForNotice(t, alice, room, bot, bob.UserID.String()+"'s identity is verified again, so they can post here again")
}
