package appservice_test

import (
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// TestMembershipReview: a review falls due, the member list is posted with
// identities and activity, unconfirmed it is escalated, confirmed it closes;
// with removal on, an unconfirmed review removes members who are not admins.
func TestMembershipReview(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: "review: {grace: 2s, removal_after: 3s, check_interval: 1s}\n"})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	dave := tr.HS.RegisterUser(t, "dave", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
		{UserID: dave.UserID.String(), Name: "Dave Patel", Role: "Staff Nurse", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	ig, mgmt := tr.IGAdmin(t)
	room := tr.ClinicalRoom(t, alice, dave)

	t.Run("review-interval", func(t *testing.T) {
		testenv.Say(t, alice, room, "!policy review-interval 30d")
		testenv.WaitForNotice(t, alice, room, bot, "reviewed every 30d")
		testenv.Say(t, alice, room, "!policy review-interval soon")
		testenv.WaitForNotice(t, alice, room, bot, `"soon" is not a review interval`)
		r, err := tr.Store.ReviewOf(ctx, room.String())
		if err != nil || r.Interval != 30*24*time.Hour {
			t.Fatalf("review = %+v %v", r, err)
		}
	})

	t.Run("due review posted, escalated, confirmed", func(t *testing.T) {
		r, _ := tr.Store.ReviewOf(ctx, room.String())
		r.NextDue = time.Now().Add(-time.Minute) // fall due now
		r.Interval = 24 * time.Hour
		if err := tr.Store.SaveReview(ctx, r); err != nil {
			t.Fatal(err)
		}
		n := testenv.WaitForNotice(t, alice, room, bot, "Membership review of this clinical room (2 members)")
		for _, want := range []string{alice.UserID.String() + " (Alice Smith · Consultant · Trust A) — room admin — last active", dave.UserID.String() + " (Dave Patel · Staff Nurse · Trust A) — no messages seen", "`!policy review confirm`"} {
			if !strings.Contains(n, want) {
				t.Errorf("review notice lacks %q:\n%s", want, n)
			}
		}
		testenv.WaitForNotice(t, ig, mgmt, bot, "The membership review of clinical room "+room.String())
		testenv.Say(t, ig, mgmt, "!policy report")
		testenv.WaitForNotice(t, ig, mgmt, bot, "Membership reviews: 1 review due or open.", room.String()+": review open since", "escalated")
		testenv.WaitForNotice(t, alice, room, bot, "Reminder: this room's membership review has not been confirmed")
		testenv.Say(t, dave, room, "!policy review confirm")
		testenv.WaitForNotice(t, alice, room, bot, "You need power level 50")
		testenv.Say(t, alice, room, "!policy review confirm")
		testenv.WaitForNotice(t, alice, room, bot, "the member list is confirmed by "+alice.UserID.String())
		r, _ = tr.Store.ReviewOf(ctx, room.String())
		if !r.Started.IsZero() || r.LastConfirmedBy != alice.UserID.String() || r.NextDue.Before(time.Now().Add(23*time.Hour)) {
			t.Fatalf("after confirm: %+v", r)
		}
		if !isMember(t, alice, room, dave.UserID) {
			t.Fatal("a confirmed member was removed")
		}
		testenv.Say(t, alice, room, "!policy review confirm")
		testenv.WaitForNotice(t, alice, room, bot, "No review is open in this room")
	})

	t.Run("remove with a reason", func(t *testing.T) {
		testenv.Say(t, alice, room, "!policy remove "+dave.UserID.String()+" moved to another ward")
		waitGone(t, alice, room, dave.UserID, 10*time.Second)
		if reason := memberReason(t, alice, room, dave.UserID); reason != "Removed from this clinical room by "+alice.UserID.String()+": moved to another ward" {
			t.Errorf("dave told %q", reason)
		}
		testenv.Say(t, alice, room, "!policy remove "+dave.UserID.String())
		testenv.WaitForNotice(t, alice, room, bot, "is not a member of this room")
	})

	t.Run("unconfirmed review removes non-admins at the deadline", func(t *testing.T) {
		second := tr.ClinicalRoom(t, alice, dave)
		testenv.Say(t, alice, second, "!policy review")
		testenv.WaitForNotice(t, alice, second, bot, "Membership review of this clinical room")
		waitGone(t, alice, second, dave.UserID, 20*time.Second)
		if !isMember(t, alice, second, alice.UserID) {
			t.Fatal("the room admin was removed")
		}
		testenv.WaitForNotice(t, ig, mgmt, bot, "was never confirmed; I removed its 1 member(s)")
	})
}
