package appservice_test

import (
	"slices"
	"testing"

	"github.com/caldicott/caldicott/store"
)

// TestDowngradeIsAnIGDecision: a room admin cannot move a clinical room out
// of clinical, by command or in room state; the request reaches the IG
// team, an IG admin confirms it, the members are told. Moving up to
// clinical stays the room admin's decision.
func TestDowngradeIsAnIGDecision(t *testing.T) {
	tr := newTrust(t, "127.0.0.11", "", "")
	tr.startCaldicott(t, true)
	bot := tr.botID()
	alice := tr.hs.RegisterUser(t, "alice", false)
	if err := tr.store.UpsertStaff(ctx, []store.StaffRecord{{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"}}); err != nil {
		t.Fatal(err)
	}
	ig, mgmt := igAdmin(t, tr)
	room := clinicalRoom(t, tr, alice)

	t.Run("a room admin's downgrade waits for the IG team", func(t *testing.T) {
		say(t, alice, room, "!policy classify social the ward uses it for rotas now")
		waitForNotice(t, alice, room, bot, "Moving a room out of clinical is your trust's IG team's decision")
		waitForNotice(t, ig, mgmt, bot, alice.UserID.String()+" asks to move clinical room "+room.String()+" to social", "the ward uses it for rotas now", "!policy confirm-downgrade "+room.String())
		waitForState(t, alice, room, "org.caldicott.policy", "class", "clinical")
		// Still clinical, so still protected.
		setState(t, alice, room, "m.room.join_rules", map[string]any{"join_rule": "public"})
		waitForState(t, alice, room, "m.room.join_rules", "join_rule", "invite")
	})

	t.Run("a direct state change is set back", func(t *testing.T) {
		setState(t, alice, room, "org.caldicott.policy", map[string]any{"class": "social"})
		waitForState(t, alice, room, "org.caldicott.policy", "class", "clinical")
		waitForNotice(t, alice, room, bot, alice.UserID.String()+" changed this room's class to social", "Only the trust's IG team can move a room out of clinical")
		waitForNotice(t, ig, mgmt, bot, "changed clinical room "+room.String()+" to social in room state; I set it back")
	})

	t.Run("an IG admin confirms; the members are told", func(t *testing.T) {
		say(t, ig, mgmt, "!policy confirm-downgrade "+room.String())
		waitForState(t, alice, room, "org.caldicott.policy", "class", "social")
		waitForNotice(t, alice, room, bot, "This room is no longer clinical", "do not share patient information here")
		waitForNotice(t, ig, mgmt, bot, "Done: "+room.String()+" is now social")
	})

	t.Run("moving up to clinical stays the room admin's", func(t *testing.T) {
		say(t, alice, room, "!policy classify clinical")
		waitForState(t, alice, room, "org.caldicott.policy", "class", "clinical")
		checkHardened(t, alice, room, tr)
	})

	t.Run("every step is audited", func(t *testing.T) {
		entries, err := tr.store.AuditForRoom(ctx, room.String(), 500)
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
