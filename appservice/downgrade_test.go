package appservice_test

import (
	"slices"
	"testing"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// TestDowngradeIsAnIGDecision: a room admin cannot move a clinical room out
// of clinical, by command or in room state; the request reaches the IG
// team, an IG admin confirms it, the members are told. Moving up to
// clinical stays the room admin's decision.
func TestDowngradeIsAnIGDecision(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"}}); err != nil {
		t.Fatal(err)
	}
	ig, mgmt := tr.IGAdmin(t)
	room := tr.ClinicalRoom(t, alice)

	t.Run("a room admin's downgrade waits for the IG team", func(t *testing.T) {
		testenv.Say(t, alice, room, "!policy classify social the ward uses it for rotas now")
		testenv.WaitForNotice(t, alice, room, bot, "Moving a room out of clinical is your trust's IG team's decision")
		testenv.WaitForNotice(t, ig, mgmt, bot, alice.UserID.String()+" asks to move clinical room "+room.String()+" to social", "the ward uses it for rotas now", "!policy confirm-downgrade "+room.String())
		testenv.WaitForState(t, alice, room, "org.caldicott.policy", "class", "clinical")
		// Still clinical, so still protected.
		testenv.SetState(t, alice, room, "m.room.join_rules", map[string]any{"join_rule": "public"})
		testenv.WaitForState(t, alice, room, "m.room.join_rules", "join_rule", "invite")
	})

	t.Run("a direct state change is set back", func(t *testing.T) {
		testenv.SetState(t, alice, room, "org.caldicott.policy", map[string]any{"class": "social"})
		testenv.WaitForState(t, alice, room, "org.caldicott.policy", "class", "clinical")
		testenv.WaitForNotice(t, alice, room, bot, alice.UserID.String()+" changed this room's class to social", "Only the trust's IG team can move a room out of clinical")
		testenv.WaitForNotice(t, ig, mgmt, bot, "changed clinical room "+room.String()+" to social in room state; I set it back")
	})

	t.Run("an IG admin confirms; the members are told", func(t *testing.T) {
		testenv.Say(t, ig, mgmt, "!policy confirm-downgrade "+room.String())
		testenv.WaitForState(t, alice, room, "org.caldicott.policy", "class", "social")
		testenv.WaitForNotice(t, alice, room, bot, "This room is no longer clinical", "do not share patient information here")
		testenv.WaitForNotice(t, ig, mgmt, bot, "Done: "+room.String()+" is now social")
	})

	t.Run("moving up to clinical stays the room admin's", func(t *testing.T) {
		testenv.Say(t, alice, room, "!policy classify clinical")
		testenv.WaitForState(t, alice, room, "org.caldicott.policy", "class", "clinical")
		tr.CheckHardened(t, alice, room)
	})

	t.Run("every step is audited", func(t *testing.T) {
		entries, err := tr.Store.AuditForRoom(ctx, room.String(), 500)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
		}
		for _, want := range []string{"downgrade_requested", "refused.downgrade", "downgrade_confirmed"} {
			if !slices.Contains(actions, want) {
				t.Errorf("audit lacks %q: %v", want, actions)
			}
		}
	})
}
