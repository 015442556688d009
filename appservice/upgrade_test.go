package appservice_test

import (
	"fmt"
	"net/http"
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

// upgradeScene is a hardened clinical room with everything Caldicott keeps
// about a room: room options, a legal hold, a message waiting for the
// patient record, a review schedule and a pending access request.
type upgradeScene struct {
	tr              *trust.Trust
	bot             id.UserID
	alice, dave     *mautrix.Client // staff; alice is the room's admin
	bob, carol      *mautrix.Client // not in the staff directory
	ig              *mautrix.Client
	mgmt, room      id.RoomID
	requester       string
	heldRecordEvent string
}

func newUpgradeScene(t *testing.T, version string) *upgradeScene {
	t.Helper()
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	tr.Start(t)
	sc := &upgradeScene{tr: tr, bot: tr.BotID()}
	sc.alice = tr.HS.RegisterUser(t, "alice", false)
	sc.dave = tr.HS.RegisterUser(t, "dave", false)
	sc.bob = tr.HS.RegisterUser(t, "bob", false)
	sc.carol = tr.HS.RegisterUser(t, "carol", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: sc.alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
		{UserID: sc.dave.UserID.String(), Name: "Dave Patel", Role: "Consultant", Status: "active", Source: "csv"},
		{UserID: "@erin:" + tr.HS.ServerName, Name: "Erin Wu", Role: "Consultant", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	sc.ig, sc.mgmt = tr.IGAdmin(t)

	sc.room = testenv.RoomWithBot(t, sc.alice, sc.bot, &mautrix.ReqCreateRoom{Preset: "private_chat", RoomVersion: id.RoomVersion(version), Invite: []id.UserID{sc.dave.UserID}})
	testenv.SetPower(t, sc.alice, sc.room, sc.bot, 100)
	testenv.Say(t, sc.alice, sc.room, "!policy classify clinical")
	tr.CheckHardened(t, sc.alice, sc.room)
	if _, err := sc.dave.JoinRoomByID(ctx, sc.room); err != nil {
		t.Fatal(err)
	}
	testenv.Say(t, sc.alice, sc.room, "!policy roles Consultant")
	testenv.WaitForState(t, sc.alice, sc.room, "org.caldicott.policy", "allowed_roles", "[Consultant]")
	testenv.Say(t, sc.alice, sc.room, "!policy retention 30d")
	testenv.WaitForState(t, sc.alice, sc.room, "m.room.retention", "max_lifetime", float64(30*24*time.Hour/time.Millisecond))

	// What the IG team and the record queue hold about the room.
	sc.requester = "@erin:" + tr.HS.ServerName
	sc.heldRecordEvent = "$waiting-for-the-record"
	st := tr.Store
	if err := st.AddLegalHold(ctx, store.LegalHold{RoomID: sc.room.String(), Reason: "inquest 42", HeldBy: sc.ig.UserID.String()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddRecord(ctx, store.PatientRecord{RoomID: sc.room.String(), EventID: sc.heldRecordEvent, CommandID: "$cmd", RecordedBy: sc.alice.UserID.String(), Payload: "{}"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddRequest(ctx, store.AccessRequest{RoomID: sc.room.String(), UserID: sc.requester, RequestedBy: sc.requester, Reason: "covering nights"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ReviewOf(ctx, sc.room.String()); err != nil {
		t.Fatalf("the clinical room has no review schedule: %v", err)
	}
	return sc
}

// upgrade asks the homeserver to upgrade the room, as Element's "Upgrade
// room" does (POST /rooms/{id}/upgrade), and returns the replacement.
func upgrade(t *testing.T, cli *mautrix.Client, room id.RoomID, version string) id.RoomID {
	t.Helper()
	var resp struct {
		ReplacementRoom id.RoomID `json:"replacement_room"`
	}
	url := cli.BuildClientURL("v3", "rooms", room, "upgrade")
	if _, err := cli.MakeRequest(ctx, http.MethodPost, url, map[string]string{"new_version": version}, &resp); err != nil {
		t.Fatalf("upgrade %s to version %s: %v", room, version, err)
	}
	return resp.ReplacementRoom
}

func invite(t *testing.T, cli *mautrix.Client, room id.RoomID, user id.UserID) {
	t.Helper()
	if _, err := cli.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: user}); err != nil {
		t.Fatalf("invite %s to %s: %v", user, room, err)
	}
}

// checkGuarded: the replacement is guarded as the old room was — the bot
// in it at full power, the room's policy and retention as before, and the
// store's rows about the room carried over.
func (sc *upgradeScene) checkGuarded(t *testing.T, repl id.RoomID) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, "the bot to be in the new room", func() (bool, string) {
		m, err := sc.alice.JoinedMembers(ctx, repl)
		if err != nil {
			return false, err.Error()
		}
		_, ok := m.Joined[sc.bot]
		return ok, fmt.Sprint(len(m.Joined), " members")
	})
	n := testenv.WaitForNotice(t, sc.alice, repl, sc.bot, "This room replaces "+sc.room.String(), "legal hold", "1 message(s) waiting for the patient record", "review schedule", "1 pending access request")
	t.Logf("notice in the new room: %s", n)
	testenv.WaitForNotice(t, sc.ig, sc.mgmt, sc.bot, "was upgraded by "+sc.alice.UserID.String()+" to "+repl.String(), "guard it as before")
	sc.tr.CheckHardened(t, sc.alice, repl)
	if c := testenv.StateContent(t, sc.alice, repl, "org.caldicott.policy"); fmt.Sprint(c["allowed_roles"]) != "[Consultant]" {
		t.Errorf("room options in the new room: %v", c)
	}
	if old, repl := testenv.StateContent(t, sc.alice, sc.room, "m.room.retention"), testenv.StateContent(t, sc.alice, repl, "m.room.retention"); fmt.Sprint(old) != fmt.Sprint(repl) {
		t.Errorf("retention: old room %v, new room %v", old, repl)
	}

	st := sc.tr.Store
	if p, err := st.RoomPolicy(ctx, repl.String()); err != nil || p.Class != "clinical" {
		t.Errorf("new room's recorded policy = %+v %v", p, err)
	}
	for _, room := range []id.RoomID{sc.room, repl} {
		if h, err := st.LegalHoldOf(ctx, room.String()); err != nil || h.Reason != "inquest 42" {
			t.Errorf("legal hold on %s = %+v %v", room, h, err)
		}
	}
	if kept, _ := st.RecordAwaited(ctx, sc.room.String(), sc.heldRecordEvent); !kept {
		t.Error("the message waiting for the record is no longer kept in the old room")
	}
	if w, _ := st.WaitingRecords(ctx, repl.String()); len(w) != 1 {
		t.Errorf("new room's waiting records = %+v", w)
	}
	if _, err := st.ReviewOf(ctx, repl.String()); err != nil {
		t.Errorf("new room has no review schedule: %v", err)
	}
	if _, err := st.ReviewOf(ctx, sc.room.String()); err != store.ErrNotFound {
		t.Errorf("the replaced room is still reviewed: %v", err)
	}
	if _, err := st.PendingRequest(ctx, repl.String(), sc.requester); err != nil {
		t.Errorf("request not carried over: %v", err)
	}
	entries, err := st.AuditForRoom(ctx, repl.String(), 200)
	if err != nil {
		t.Fatal(err)
	}
	audited := false
	for _, e := range entries {
		audited = audited || e.Action == "room_upgrade_carried"
	}
	if !audited {
		t.Error("carry-over not audited")
	}
}

// outsiderRemoved: someone not in the staff directory invited into the
// replacement has the invitation revoked, as in any clinical room.
func (sc *upgradeScene) outsiderRemoved(t *testing.T, repl id.RoomID, outsider *mautrix.Client) {
	t.Helper()
	invite(t, sc.alice, repl, outsider.UserID)
	waitGone(t, sc.alice, repl, outsider.UserID, 20*time.Second)
	if _, err := outsider.JoinRoomByID(ctx, repl); err == nil {
		t.Errorf("%s could still join the new room", outsider.UserID)
	}
}

func countNotices(t *testing.T, cli *mautrix.Client, room id.RoomID, bot id.UserID, want string) int {
	t.Helper()
	n := 0
	for _, body := range testenv.BotNotices(t, cli, room, bot) {
		if strings.Contains(body, want) {
			n++
		}
	}
	return n
}

// TestRoomUpgradeByAPI: a room admin upgrades a hardened clinical room by
// the API alone (no invitations). The bot cannot enter the invite-only
// replacement, so the old room and the IG team are told at once, once,
// what to do; when the admin invites the bot, it joins and the new room is
// guarded as the old one was: invitations sent before it came are judged,
// outsiders removed. Room versions 10 → 11 and 11 → 11.
func TestRoomUpgradeByAPI(t *testing.T) {
	for _, v := range []struct{ from, to string }{{"10", "11"}, {"11", "11"}} {
		t.Run(v.from+" to "+v.to, func(t *testing.T) {
			sc := newUpgradeScene(t, v.from)
			start := time.Now()
			repl := upgrade(t, sc.alice, sc.room, v.to)

			told := testenv.WaitForNotice(t, sc.dave, sc.room, sc.bot, "replaced by a new room ("+repl.String()+")", "NOT protected", "invite "+sc.bot.String()+" to the new room")
			t.Logf("the old room is told: %s", told)
			testenv.WaitForNotice(t, sc.ig, sc.mgmt, sc.bot, "upgraded by "+sc.alice.UserID.String()+" to "+repl.String(), "NOT protected")
			t.Logf("room %s → %s: members told the new room is not protected after %s", v.from, v.to, time.Since(start).Round(time.Millisecond))

			// An outsider invited while the bot is not there.
			invite(t, sc.alice, repl, sc.carol.UserID)
			invite(t, sc.alice, repl, sc.bot)
			start = time.Now()
			sc.checkGuarded(t, repl)
			t.Logf("room %s → %s: guarded %s after the bot's invitation", v.from, v.to, time.Since(start).Round(time.Millisecond))
			waitGone(t, sc.alice, repl, sc.carol.UserID, 20*time.Second)
			sc.outsiderRemoved(t, repl, sc.bob)

			// Told once, and the join not tried again after a restart.
			sc.tr.Stop(t)
			sc.tr.Start(t)
			testenv.Quiet(t, 2*time.Second, "no repeated notice after the restart", func() (bool, string) {
				inOld, inNew := countNotices(t, sc.dave, sc.room, sc.bot, "NOT protected"), countNotices(t, sc.alice, repl, sc.bot, "This room replaces")
				return inOld <= 1 && inNew <= 1, fmt.Sprintf("old room told %d times, new room %d", inOld, inNew)
			})
			if n := countNotices(t, sc.dave, sc.room, sc.bot, "NOT protected"); n != 1 {
				t.Errorf("old room told %d times that the new room is not protected, want once", n)
			}
			if n := countNotices(t, sc.alice, repl, sc.bot, "This room replaces"); n != 1 {
				t.Errorf("new room told %d times that it replaces the old one, want once", n)
			}
			// The start-up reconciliation hardens the old room too, but its
			// reviews stay with the new room.
			if _, err := sc.tr.Store.ReviewOf(ctx, sc.room.String()); err != store.ErrNotFound {
				t.Errorf("the replaced room is reviewed again after a restart: %v", err)
			}
		})
	}
}

// TestRoomUpgradeElementFlow: Element's "Upgrade room" upgrades, then
// invites the old room's members — the bot among them — to the new room.
// The bot joins on that invitation and the new room is guarded, with no
// false alarm in the old room; an outsider invited later is removed.
func TestRoomUpgradeElementFlow(t *testing.T) {
	sc := newUpgradeScene(t, "10")
	start := time.Now()
	repl := upgrade(t, sc.alice, sc.room, "11")
	for _, u := range []id.UserID{sc.bot, sc.dave.UserID} {
		invite(t, sc.alice, repl, u)
	}
	sc.checkGuarded(t, repl)
	t.Logf("guarded %s after the upgrade", time.Since(start).Round(time.Millisecond))
	if _, err := sc.dave.JoinRoomByID(ctx, repl); err != nil {
		t.Fatalf("dave, a member of the old room, joins the new: %v", err)
	}
	sc.outsiderRemoved(t, repl, sc.bob)
	if !isMember(t, sc.alice, repl, sc.dave.UserID) {
		t.Error("dave, who may be there, was removed")
	}
	if n := countNotices(t, sc.dave, sc.room, sc.bot, "NOT protected"); n != 0 {
		t.Errorf("false alarm in the old room (%d notices)", n)
	}
}

// TestRoomUpgradeUnreachableReplacement: a tombstone pointing at a room the
// bot cannot join (it does not exist) is reported once, in plain words, and
// not tried again.
func TestRoomUpgradeUnreachableReplacement(t *testing.T) {
	sc := newUpgradeScene(t, "10")
	ghost := id.RoomID("!nosuchroom:" + sc.tr.HS.ServerName)
	testenv.SetState(t, sc.alice, sc.room, "m.room.tombstone", map[string]any{"body": "moved", "replacement_room": ghost})
	told := testenv.WaitForNotice(t, sc.dave, sc.room, sc.bot, "replaced by a new room ("+ghost.String()+")", "NOT protected")
	t.Logf("the old room is told: %s", told)
	testenv.WaitForNotice(t, sc.ig, sc.mgmt, sc.bot, ghost.String(), "NOT protected")
	testenv.Quiet(t, 5*time.Second, "the unreachable replacement not reported again", func() (bool, string) {
		n := countNotices(t, sc.dave, sc.room, sc.bot, "NOT protected")
		return n <= 1, fmt.Sprint(n, " notices")
	})
	if n := countNotices(t, sc.dave, sc.room, sc.bot, "NOT protected"); n != 1 {
		t.Errorf("told %d times, want once", n)
	}
	entries, err := sc.tr.Store.AuditForRoom(ctx, ghost.String(), 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		var got []string
		for _, e := range entries {
			got = append(got, e.Action)
		}
		t.Errorf("join tried %d times (%v), want 3 and no more", len(entries), got)
	}
	// Nothing left the old room.
	if _, err := sc.tr.Store.ReviewOf(ctx, sc.room.String()); err != nil {
		t.Errorf("old room's review gone: %v", err)
	}
}

// TestRoomUpgradeForged: a room is carried over to only when the old
// room's tombstone and the new room's creation name each other. A
// tombstone pointing at a room someone made themselves, and a room whose
// creation claims a predecessor that was never replaced by it, are refused
// and reported; nothing moves.
func TestRoomUpgradeForged(t *testing.T) {
	sc := newUpgradeScene(t, "10")
	st := sc.tr.Store
	nothingCarried := func(t *testing.T, to id.RoomID) {
		t.Helper()
		if _, err := st.LegalHoldOf(ctx, to.String()); err != store.ErrNotFound {
			t.Errorf("legal hold carried to %s: %v", to, err)
		}
		if _, err := st.ReviewOf(ctx, sc.room.String()); err != nil {
			t.Errorf("review taken from the old room: %v", err)
		}
		if _, err := st.PendingRequest(ctx, sc.room.String(), sc.requester); err != nil {
			t.Errorf("request taken from the old room: %v", err)
		}
		if w, _ := st.WaitingRecords(ctx, to.String()); len(w) != 0 {
			t.Errorf("records carried to %s: %v", to, w)
		}
	}

	t.Run("a creation claiming a room that was not replaced", func(t *testing.T) {
		// Dave, a member without the power to upgrade, makes a room that
		// says it replaces the clinical room, and invites the bot.
		resp, err := sc.dave.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{sc.bot},
			CreationContent: map[string]any{"predecessor": map[string]any{"room_id": sc.room.String()}}})
		if err != nil {
			t.Fatal(err)
		}
		testenv.WaitForNotice(t, sc.dave, resp.RoomID, sc.bot, "I did not carry "+sc.room.String(), "has no tombstone")
		refused := testenv.WaitForNotice(t, sc.ig, sc.mgmt, sc.bot, "Refused: "+resp.RoomID.String(), "claims to replace "+sc.room.String())
		t.Logf("the IG team is told: %s", refused)
		nothingCarried(t, resp.RoomID)
	})

	t.Run("a tombstone pointing at a room of someone's choosing", func(t *testing.T) {
		// The room admin points the tombstone at a public room they made,
		// which the bot can enter but which is no upgrade of this room.
		resp, err := sc.alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		if err != nil {
			t.Fatal(err)
		}
		testenv.SetState(t, sc.alice, sc.room, "m.room.tombstone", map[string]any{"body": "moved", "replacement_room": resp.RoomID})
		testenv.WaitForNotice(t, sc.dave, sc.room, sc.bot, "I did not carry", resp.RoomID.String(), "names no earlier room")
		testenv.WaitForNotice(t, sc.ig, sc.mgmt, sc.bot, "Refused: "+resp.RoomID.String())
		nothingCarried(t, resp.RoomID)
		if c := testenv.StateContent(t, sc.alice, resp.RoomID, "org.caldicott.policy"); c != nil {
			t.Errorf("class carried to a room that is no replacement: %v", c)
		}
		var pl event.PowerLevelsEventContent
		_ = sc.alice.StateEvent(ctx, resp.RoomID, event.StatePowerLevels, "", &pl)
		t.Logf("bot power in the refused room: %d", pl.GetUserLevel(sc.bot))
	})
}

// TestPatientRecordAcrossUpgrade: a message marked for the patient record
// while the record is away waits through a room upgrade; it stays, kept,
// in the room it was sent in, `!policy status` in the new room lists it,
// and when the record accepts it the new room's members are told there.
func TestPatientRecordAcrossUpgrade(t *testing.T) {
	base, fhirSrv := testenv.StartFHIR(t)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: fmt.Sprintf(`records: {fhir_base_url: %q, token: %q}`, base, fhirSrv.Token)})
	alice, bob, room := recordingWard(t, tr)
	bot := tr.BotID()

	fhirSrv.Down(t)
	plan := testenv.SendText(t, bob, room, "Plan: repeat U&E at 16:00")
	replyWith(t, alice, room, plan, "!policy record 9434765919")
	testenv.WaitForNotice(t, alice, room, bot, "Sending this message to the patient record")

	repl := upgrade(t, alice, room, "11")
	for _, u := range []id.UserID{bot, bob.UserID} {
		invite(t, alice, repl, u)
	}
	testenv.WaitForNotice(t, alice, repl, bot, "This room replaces "+room.String(), "1 message(s) waiting for the patient record")
	testenv.Say(t, alice, repl, "!policy status")
	testenv.WaitForNotice(t, alice, repl, bot, "Patient record: 1 message(s) waiting")

	fhirSrv.Up(t)
	n := testenv.WaitForNotice(t, alice, repl, bot, "About a message in the room this one replaces ("+room.String()+")", "✅ The patient record has accepted this message")
	t.Logf("the new room is told: %s", n)
	if comms := fhirSrv.Communications(t); len(comms) != 1 || comms[0].Payload[0].ContentString != "Plan: repeat U&E at 16:00" {
		t.Fatalf("the record holds %+v", comms)
	}
}
