package appservice_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// TestJoinerWhileAwayJudgedAtStart: while Caldicott is down, an admin lets
// in someone who is not in the staff directory, and the homeserver restarts
// too (its queue of undelivered events is lost). At start-up the member
// list is compared with the last one recorded: the newcomer is judged as a
// joiner — removed at once — not as a sweep would (which leaves people
// merely missing from the directory in place). A member already known
// before the outage and also missing from the directory stays.
func TestJoinerWhileAwayJudgedAtStart(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	tr.Start(t)
	alice := tr.HS.RegisterUser(t, "alice", false)
	known := tr.HS.RegisterUser(t, "known", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
		{UserID: known.UserID.String(), Name: "Known Person", Role: "Nurse", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	room := tr.ClinicalRoom(t, alice, known)
	// known stays a member but drops out of the directory: a sweep keeps them.
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"}}); err != nil {
		t.Fatal(err)
	}
	waitJoined(t, alice, room, known.UserID)
	tr.Stop(t)

	intruder := tr.HS.RegisterUser(t, "intruder", false)
	if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: intruder.UserID}); err != nil {
		t.Fatal(err)
	}
	if _, err := intruder.JoinRoomByID(ctx, room); err != nil {
		t.Fatal(err)
	}
	tr.HS.Stop()
	tr.HS.Start(t)

	start := time.Now()
	tr.Start(t)
	waitGone(t, alice, room, intruder.UserID, 20*time.Second)
	t.Logf("the joiner who came in while Caldicott was away was removed %s after it started", time.Since(start).Round(10*time.Millisecond))
	testenv.WaitForNotice(t, alice, room, tr.BotID(), "I removed "+intruder.UserID.String())
	m, err := alice.JoinedMembers(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Joined[known.UserID]; !ok {
		t.Error("a member known before the outage was removed by the start-up check, which must judge them as a sweep would")
	}
}

func waitJoined(t *testing.T, cli *mautrix.Client, roomID id.RoomID, user id.UserID) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, user.String()+" joined", func() (bool, string) {
		m, err := cli.JoinedMembers(ctx, roomID)
		if err != nil {
			return false, err.Error()
		}
		_, ok := m.Joined[user]
		return ok, ""
	})
}
