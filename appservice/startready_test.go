package appservice_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"github.com/caldicott/caldicott/appservice"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// TestReadyWhileCatchingUp: ready means enforcing, not caught up. With the
// start-up catch-up held (as ten thousand rooms hold it for minutes), a
// restarted Caldicott is ready, says on /ready that its reconciliation is
// running, and removes an outsider who joins a clinical room; a drift made
// while it was away (with Dendrite restarted, so its event is never
// delivered) is repaired once the catch-up runs, and /ready then says it
// has caught up.
func TestReadyWhileCatchingUp(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	tr.Start(t)
	alice := tr.HS.RegisterUser(t, "alice", false)
	mallory := tr.HS.RegisterUser(t, "mallory", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Team: "Cardiology", Registration: "GMC 1234567", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	room := tr.ClinicalRoom(t, alice)

	tr.Stop(t)
	testenv.SetState(t, alice, room, "m.room.guest_access", map[string]any{"guest_access": "can_join"})
	// Restarted, Dendrite forgets the undelivered event: only the
	// catch-up can see the drift.
	tr.HS.Stop()
	tr.HS.Start(t)
	release := appservice.HoldCatchUp()
	defer func() {
		if release != nil {
			release()
		}
	}()
	tr.Launch(t)
	tr.WaitEnforcing(t, 60*time.Second)
	select {
	case <-tr.Service.CaughtUp():
		t.Fatal("caught up while the catch-up was held")
	default:
	}
	if code, body := readyOf(t, tr.Service); code != http.StatusOK || !strings.Contains(body, "enforcing; start-up reconciliation running") {
		t.Errorf("/ready while catching up = %d %q", code, body)
	}

	// Enforcing: an outsider let in is removed while the catch-up waits.
	if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: mallory.UserID}); err != nil {
		t.Fatal(err)
	}
	if _, err := mallory.JoinRoomByID(ctx, room); err != nil {
		t.Fatal(err)
	}
	waitGone(t, alice, room, mallory.UserID, 30*time.Second)
	// Not caught up: the drift made while away is still there.
	var guests event.GuestAccessEventContent
	if err := alice.StateEvent(ctx, room, event.StateGuestAccess, "", &guests); err != nil {
		t.Fatal(err)
	}
	if guests.GuestAccess != event.GuestAccessCanJoin {
		t.Fatalf("guest access %q before the catch-up ran; the hold did not hold", guests.GuestAccess)
	}

	release()
	release = nil
	tr.WaitReady(t, 60*time.Second)
	tr.CheckHardened(t, alice, room)
	if code, body := readyOf(t, tr.Service); code != http.StatusOK || !strings.Contains(body, "enforcing; caught up") {
		t.Errorf("/ready once caught up = %d %q", code, body)
	}
}

// readyOf is s's /ready answer.
func readyOf(t *testing.T, s *appservice.Service) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ready", nil))
	body, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Code, string(body)
}
