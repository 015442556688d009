package appservice_test

import (
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

// TestUpgradeCommand: `!policy upgrade` in a hardened clinical room. A
// member without the power to upgrade is refused and told who could, and
// a version the bot cannot guard is refused; without a version, the
// room admin's upgrade is done by the bot, which creates the replacement,
// so the new room is guarded from its first event (no "not protected"
// alarm in the old room): the class, options, retention and what the
// store keeps about the room carried over, the old room's members invited,
// the old room tombstoned.
func TestUpgradeCommand(t *testing.T) {
	sc := newUpgradeScene(t, "10")

	// Dave, a member at power 0, cannot upgrade the room himself.
	testenv.Say(t, sc.dave, sc.room, "!policy upgrade")
	refused := testenv.WaitForNotice(t, sc.dave, sc.room, sc.bot, "Upgrading this room needs power level", "you have 0", "Ask "+sc.alice.UserID.String()+" (power 100)")
	t.Logf("a member is told: %s", refused)
	if tomb := testenv.StateContent(t, sc.alice, sc.room, "m.room.tombstone"); tomb != nil {
		t.Fatalf("the room was upgraded for a member without the power: %v", tomb)
	}

	// A version the bot cannot guard is refused, naming those it can.
	testenv.Say(t, sc.alice, sc.room, "!policy upgrade 12")
	testenv.WaitForNotice(t, sc.alice, sc.room, sc.bot, `Room version "12"`, "Use one of:", "10, 11")

	start := time.Now()
	testenv.Say(t, sc.alice, sc.room, "!policy upgrade")
	done := testenv.WaitForNotice(t, sc.alice, sc.room, sc.bot, "Done: this room is replaced by", "(room version 10)", "invited the 2 member(s)")
	t.Logf("upgraded and guarded %s after the command: %s", time.Since(start).Round(time.Millisecond), done)

	tomb := testenv.StateContent(t, sc.alice, sc.room, "m.room.tombstone")
	repl := id.RoomID(fmt.Sprint(tomb["replacement_room"]))
	if repl == "" || repl == sc.room || tomb["replacement_room"] == nil {
		t.Fatalf("old room's tombstone: %v", tomb)
	}
	// The old room's members are invited; alice moves.
	testenv.WaitMembership(t, sc.alice, repl, sc.dave.UserID, "invite")
	testenv.Eventually(t, 20*time.Second, "alice to join the new room", func() (bool, string) {
		_, err := sc.alice.JoinRoomByID(ctx, repl)
		return err == nil, fmt.Sprint(err)
	})
	create, err := sc.alice.FullStateEvent(ctx, repl, event.StateCreate, "")
	if err != nil {
		t.Fatal(err)
	}
	if create.Sender != sc.bot {
		t.Errorf("the new room was created by %s, not the bot", create.Sender)
	}
	if pred, _ := create.Content.Raw["predecessor"].(map[string]any); pred["room_id"] != sc.room.String() {
		t.Errorf("the new room's creation names %v as its predecessor, want %s", create.Content.Raw["predecessor"], sc.room)
	}
	sc.checkCarried(t, repl)

	if n := countNotices(t, sc.dave, sc.room, sc.bot, "NOT protected"); n != 0 {
		t.Errorf("the old room was told %d times that the new room is not protected", n)
	}
	if _, err := sc.dave.JoinRoomByID(ctx, repl); err != nil {
		t.Fatalf("dave, a member of the old room, accepts the invitation: %v", err)
	}
	sc.outsiderRemoved(t, repl, sc.bob)
	if !isMember(t, sc.alice, repl, sc.dave.UserID) {
		t.Error("dave, who may be there, was removed")
	}

	// Asked again in the old room (as a crash would have it handled
	// again): finished, not upgraded a second time, nobody invited twice.
	testenv.Say(t, sc.alice, sc.room, "!policy upgrade")
	testenv.Eventually(t, 20*time.Second, "the second answer", func() (bool, string) {
		n := countNotices(t, sc.alice, sc.room, sc.bot, "Done: this room is replaced by "+repl.String())
		return n == 2, fmt.Sprint(n, " answers")
	})
	if again := testenv.StateContent(t, sc.alice, sc.room, "m.room.tombstone"); again["replacement_room"] != repl.String() {
		t.Errorf("the room was upgraded again: its tombstone names %v, not %s", again["replacement_room"], repl)
	}
	if got := testenv.MembershipOf(t, sc.alice, repl, sc.dave.UserID); got != "join" {
		t.Errorf("dave's membership of the new room is %q after the second answer, want join", got)
	}
}

// checkCarried: the replacement is guarded as the old room was. Unlike
// checkGuarded it does not read the notice in the new room: that was sent
// before the members joined, and a clinical room's history is for members
// from their joining; the old room's reply and the IG team's notice say it.
func (sc *upgradeScene) checkCarried(t *testing.T, repl id.RoomID) {
	t.Helper()
	testenv.WaitForNotice(t, sc.ig, sc.mgmt, sc.bot, "was upgraded by "+sc.alice.UserID.String()+" to "+repl.String(), "guard it as before",
		"legal hold", "1 message(s) waiting for the patient record", "review schedule", "1 pending access request")
	sc.tr.CheckHardened(t, sc.alice, repl)
	if c := testenv.StateContent(t, sc.alice, repl, "org.caldicott.policy"); c["class"] != "clinical" || fmt.Sprint(c["allowed_roles"]) != "[Consultant]" {
		t.Errorf("class and room options in the new room: %v", c)
	}
	if old, repl := testenv.StateContent(t, sc.alice, sc.room, "m.room.retention"), testenv.StateContent(t, sc.alice, repl, "m.room.retention"); fmt.Sprint(old) != fmt.Sprint(repl) {
		t.Errorf("retention: old room %v, new room %v", old, repl)
	}
	st := sc.tr.Store
	if p, err := st.RoomPolicy(ctx, repl.String()); err != nil || p.Class != "clinical" {
		t.Errorf("new room's recorded policy = %+v %v", p, err)
	}
	if h, err := st.LegalHoldOf(ctx, repl.String()); err != nil || h.Reason != "inquest 42" {
		t.Errorf("legal hold on the new room = %+v %v", h, err)
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
	actions := map[string]bool{}
	for _, room := range []id.RoomID{sc.room, repl} {
		entries, err := st.AuditForRoom(ctx, room.String(), 200)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			actions[e.Action] = true
		}
	}
	for _, want := range []string{"upgrade_room", "room_upgrade_carried", "invite"} {
		if !actions[want] {
			t.Errorf("%s not audited", want)
		}
	}
}
