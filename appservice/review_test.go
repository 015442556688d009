package appservice_test

import (
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/store"
)

// TestMembershipReview: a review falls due, the member list is posted with
// identities and activity, unconfirmed it is escalated, confirmed it closes;
// with removal on, an unconfirmed review removes members who are not admins.
func TestMembershipReview(t *testing.T) {
	tr := newTrust(t, "127.0.0.11", "", "review: {grace: 2s, removal_after: 3s, check_interval: 1s}\n")
	tr.startCaldicott(t, true)
	bot := tr.botID()
	alice := tr.hs.RegisterUser(t, "alice", false)
	dave := tr.hs.RegisterUser(t, "dave", false)
	if err := tr.store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
		{UserID: dave.UserID.String(), Name: "Dave Patel", Role: "Staff Nurse", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	ig, mgmt := igAdmin(t, tr)
	room := clinicalRoom(t, tr, alice, dave)

	t.Run("review-interval", func(t *testing.T) {
		say(t, alice, room, "!policy review-interval 30d")
		waitForNotice(t, alice, room, bot, "reviewed every 30d")
		say(t, alice, room, "!policy review-interval soon")
		waitForNotice(t, alice, room, bot, `"soon" is not a review interval`)
		r, err := tr.store.ReviewOf(ctx, room.String())
		if err != nil || r.Interval != 30*24*time.Hour {
			t.Fatalf("review = %+v %v", r, err)
		}
	})

	t.Run("due review posted, escalated, confirmed", func(t *testing.T) {
		r, _ := tr.store.ReviewOf(ctx, room.String())
		r.NextDue = time.Now().Add(-time.Minute) // fall due now
		r.Interval = 24 * time.Hour
		if err := tr.store.SaveReview(ctx, r); err != nil {
			t.Fatal(err)
		}
		n := waitForNotice(t, alice, room, bot, "Membership review of this clinical room (2 members)")
		for _, want := range []string{alice.UserID.String() + " (Alice Smith · Consultant · Trust A) — room admin — last active", dave.UserID.String() + " (Dave Patel · Staff Nurse · Trust A) — no messages seen", "`!policy review confirm`"} {
			if !strings.Contains(n, want) {
				t.Errorf("review notice lacks %q:\n%s", want, n)
			}
		}
		waitForNotice(t, ig, mgmt, bot, "The membership review of clinical room "+room.String())
		say(t, ig, mgmt, "!policy report")
		waitForNotice(t, ig, mgmt, bot, "Membership reviews waiting:", room.String()+": review open since", "escalated")
		waitForNotice(t, alice, room, bot, "Reminder: this room's membership review has not been confirmed")
		say(t, dave, room, "!policy review confirm")
		waitForNotice(t, alice, room, bot, "You need power level 50")
		say(t, alice, room, "!policy review confirm")
		waitForNotice(t, alice, room, bot, "the member list is confirmed by "+alice.UserID.String())
		r, _ = tr.store.ReviewOf(ctx, room.String())
		if !r.Started.IsZero() || r.LastConfirmedBy != alice.UserID.String() || r.NextDue.Before(time.Now().Add(23*time.Hour)) {
			t.Fatalf("after confirm: %+v", r)
		}
		if !isMember(t, alice, room, dave.UserID) {
			t.Fatal("a confirmed member was removed")
		}
		say(t, alice, room, "!policy review confirm")
		waitForNotice(t, alice, room, bot, "No review is open in this room")
	})

	t.Run("remove with a reason", func(t *testing.T) {
		say(t, alice, room, "!policy remove "+dave.UserID.String()+" moved to another ward")
		waitGone(t, alice, room, dave.UserID, 10*time.Second)
		if reason := memberReason(t, alice, room, dave.UserID); reason != "Removed from this clinical room by "+alice.UserID.String()+": moved to another ward" {
			t.Errorf("dave told %q", reason)
		}
		say(t, alice, room, "!policy remove "+dave.UserID.String())
		waitForNotice(t, alice, room, bot, "is not a member of this room")
	})

	t.Run("unconfirmed review removes non-admins at the deadline", func(t *testing.T) {
		second := clinicalRoom(t, tr, alice, dave)
		say(t, alice, second, "!policy review")
		waitForNotice(t, alice, second, bot, "Membership review of this clinical room")
		waitGone(t, alice, second, dave.UserID, 20*time.Second)
		if !isMember(t, alice, second, alice.UserID) {
			t.Fatal("the room admin was removed")
		}
		waitForNotice(t, ig, mgmt, bot, "was never confirmed; I removed its 1 member(s)")
	})
}
