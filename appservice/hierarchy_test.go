package appservice_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// TestRoomHierarchy: issue 18, point 3. In a clinical room with a room
// admin at 100, a senior clinician at 75 and a moderator at 50, the
// moderator cannot use the bot against anyone at or above them: `!policy
// remove` of the admin or the senior clinician is refused with a reply and
// nothing is sent to the homeserver; a role filter the moderator sets (by
// command, or by writing the room's policy state directly) removes those
// below them and leaves the senior clinician, now and at later directory
// checks, telling the moderator whom to ask; the room admin removes the
// senior clinician when they decide to.
func TestRoomHierarchy(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: "directory: {sync_interval: 10s}\n"})
	tr.Start(t)
	bot := tr.BotID()
	admin := tr.HS.RegisterUser(t, "admin", false)
	senior := tr.HS.RegisterUser(t, "senior", false)
	mod := tr.HS.RegisterUser(t, "mod", false)
	nurse := tr.HS.RegisterUser(t, "nurse", false)
	hca := tr.HS.RegisterUser(t, "hca", false)
	tech := tr.HS.RegisterUser(t, "tech", false)
	staff := func(u id.UserID, name, role, team string) store.StaffRecord {
		return store.StaffRecord{UserID: u.String(), Name: name, Role: role, Team: team, Status: "active", Source: "csv"}
	}
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		staff(admin.UserID, "Ada Admin", "Consultant", "Cardiology"),
		staff(senior.UserID, "Sam Senior", "Registrar", "Cardiology"),
		staff(mod.UserID, "Mo Moderator", "Charge Nurse", "Cardiology"),
		staff(nurse.UserID, "Nia Nurse", "Staff Nurse", "Cardiology"),
		staff(hca.UserID, "Hal Assistant", "Healthcare Assistant", "Cardiology"),
		staff(tech.UserID, "Tia Tech", "Technician", "Cardiology"),
	}); err != nil {
		t.Fatal(err)
	}
	room := tr.ClinicalRoom(t, admin, senior, mod, nurse, hca, tech)
	testenv.SetPower(t, admin, room, senior.UserID, 75)
	testenv.SetPower(t, admin, room, mod.UserID, 50)

	// kicksOf lists the kicks the bot tried in the room on user, done or failed.
	kicksOf := func(user id.UserID) []string {
		t.Helper()
		entries, err := tr.Store.AuditForRoom(ctx, room.String(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			if strings.HasSuffix(e.Action, string(policy.Kick)) && strings.Contains(e.Detail, `"user_id":"`+user.String()+`"`) {
				out = append(out, e.Action+": "+e.Reason)
			}
		}
		return out
	}
	refusalsOf := func(user id.UserID) int {
		t.Helper()
		entries, err := tr.Store.AuditForRoom(ctx, room.String(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			if e.Action == "refused.remove" && e.Actor == mod.UserID.String() && strings.Contains(e.Detail, user.String()) {
				n++
			}
		}
		return n
	}

	t.Run("moderator at 50 cannot remove the room admin at 100", func(t *testing.T) {
		testenv.Say(t, mod, room, "!policy remove "+admin.UserID.String()+" not needed here")
		testenv.WaitForNotice(t, mod, room, bot, "I cannot remove "+admin.UserID.String()+" for you: they have power level 100 in this room, above yours (50)",
			"I act for you only where you could act yourself")
		if !isMember(t, mod, room, admin.UserID) {
			t.Fatal("the room admin was removed")
		}
		if k := kicksOf(admin.UserID); len(k) != 0 {
			t.Errorf("a kick of the room admin was attempted: %q", k)
		}
		if refusalsOf(admin.UserID) != 1 {
			t.Error("the refusal is not in the audit log")
		}
	})

	t.Run("moderator at 50 cannot remove the senior clinician at 75", func(t *testing.T) {
		testenv.Say(t, mod, room, "!policy remove "+senior.UserID.String())
		testenv.WaitForNotice(t, mod, room, bot, "I cannot remove "+senior.UserID.String()+" for you: they have power level 75 in this room, above yours (50)",
			"Ask someone here with more power to do it: "+admin.UserID.String()+" (power 100).")
		if !isMember(t, mod, room, senior.UserID) {
			t.Fatal("the senior clinician was removed")
		}
		if k := kicksOf(senior.UserID); len(k) != 0 {
			t.Errorf("a kick of the senior clinician was attempted: %q", k)
		}
		if refusalsOf(senior.UserID) != 1 {
			t.Error("the refusal is not in the audit log")
		}
	})

	t.Run("moderator's role filter leaves the senior clinician for an admin", func(t *testing.T) {
		testenv.Say(t, mod, room, "!policy roles Consultant, Charge Nurse, Staff Nurse, Technician")
		waitGone(t, admin, room, hca.UserID, 20*time.Second)
		testenv.WaitForNotice(t, mod, room, bot, "I have not removed "+senior.UserID.String()+" (power 75)", "at or above yours (50)",
			"ask "+admin.UserID.String()+" (power 100) to remove them with `!policy remove`")
		if !isMember(t, admin, room, senior.UserID) {
			t.Fatal("the senior clinician was removed by the moderator's filter")
		}
		if k := kicksOf(senior.UserID); len(k) != 0 {
			t.Errorf("a kick of the senior clinician was attempted: %q", k)
		}
		pc := testenv.StateContent(t, admin, room, policy.PolicyEventType)
		if pc["filters_set_by"] != mod.UserID.String() {
			t.Errorf("the policy event names %v as the filter's setter, want %s", pc["filters_set_by"], mod.UserID)
		}
	})

	t.Run("later directory checks leave them too", func(t *testing.T) {
		// The senior clinician's record changes first, then the nurse's; both
		// are judged in that order, so once the nurse is gone the senior
		// clinician has been judged against the filter again.
		if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{staff(senior.UserID, "Sam Senior", "Registrar", "Cardiology and Renal")}); err != nil {
			t.Fatal(err)
		}
		if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{staff(nurse.UserID, "Nia Nurse", "Porter", "Cardiology")}); err != nil {
			t.Fatal(err)
		}
		waitGone(t, admin, room, nurse.UserID, 25*time.Second)
		if !isMember(t, admin, room, senior.UserID) {
			t.Fatal("a directory check removed the senior clinician under the moderator's filter")
		}
	})

	t.Run("a filter the moderator writes into room state directly reaches no higher", func(t *testing.T) {
		// The content claims an IG admin set it; the sender is who counts.
		testenv.SetState(t, mod, room, policy.PolicyEventType, map[string]any{
			"class": "clinical", "allowed_roles": []string{"Consultant"}, "filters_set_by": "@ig:" + tr.HS.ServerName,
		})
		waitGone(t, admin, room, tech.UserID, 20*time.Second)
		// The same sweep judges everyone within moments.
		testenv.Quiet(t, 3*time.Second, "the senior clinician and the moderator staying", func() (bool, string) {
			s, m := isMember(t, admin, room, senior.UserID), isMember(t, admin, room, mod.UserID)
			return s && m, fmt.Sprintf("senior a member: %v, moderator a member: %v", s, m)
		})
		if !isMember(t, admin, room, senior.UserID) {
			t.Fatal("the senior clinician was removed by a filter the moderator wrote")
		}
		if !isMember(t, admin, room, mod.UserID) {
			t.Fatal("the moderator was removed by their own filter")
		}
	})

	t.Run("the room admin removes the senior clinician", func(t *testing.T) {
		testenv.Say(t, admin, room, "!policy remove "+senior.UserID.String()+" rotated to another hospital")
		waitGone(t, admin, room, senior.UserID, 20*time.Second)
		if reason := memberReason(t, admin, room, senior.UserID); reason != "Removed from this clinical room by "+admin.UserID.String()+": rotated to another hospital" {
			t.Errorf("senior clinician told %q", reason)
		}
		if k := kicksOf(senior.UserID); len(k) != 1 || !strings.HasPrefix(k[0], "kick:") {
			t.Errorf("kicks of the senior clinician: %q, want one done", k)
		}
	})
}

// TestForeignIGAdminHasTheRoomsPowerOnly: an IG admin of trust B, in a
// clinical room trust A created (both trusts' bots in it at 100), has only
// the power the room gave them (0): trust B's bot does not remove trust B's
// nurse or move the room out of clinical for them, and says why.
func TestForeignIGAdminHasTheRoomsPowerOnly(t *testing.T) {
	a := trust.New(t, trust.Options{Host: "127.0.0.11"})
	b := trust.New(t, trust.Options{Host: "127.0.0.12"})
	trust.Federate(a, b)
	a.Start(t)
	b.Start(t)
	alice := a.HS.RegisterUser(t, "alice", false)
	igB := b.HS.RegisterUser(t, "ig", false)
	bob := b.HS.RegisterUser(t, "bob", false)
	if err := b.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: igB.UserID.String(), Name: "Iris IG", Role: "IG Lead", Status: "active", Source: "csv"},
		{UserID: bob.UserID.String(), Name: "Bob Nurse", Role: "Staff Nurse", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	room := testenv.RoomWithBot(t, alice, a.BotID(), &mautrix.ReqCreateRoom{Preset: "private_chat"})
	testenv.SetPower(t, alice, room, a.BotID(), 100)
	testenv.Say(t, alice, room, "!policy classify clinical")
	a.CheckHardened(t, alice, room)
	testenv.SetPower(t, alice, room, b.BotID(), 100)
	for _, u := range []id.UserID{b.BotID(), igB.UserID, bob.UserID} {
		if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: u}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitMembership(t, alice, room, b.BotID(), "join")
	for _, c := range []*mautrix.Client{igB, bob} {
		testenv.JoinOverFederation(t, c, room, a.HS.ServerName)
	}
	foreign := "This room was created by another trust, so your IG-admin role does not count here: you have power level 0 and changing its policy needs 50."

	t.Run("no removal of their own trust's nurse", func(t *testing.T) {
		testenv.Say(t, igB, room, "!policy remove "+bob.UserID.String())
		testenv.WaitForNotice(t, alice, room, b.BotID(), foreign)
		testenv.Quiet(t, 2*time.Second, "trust A's nurse staying in the room", func() (bool, string) {
			in := isMember(t, alice, room, bob.UserID)
			return in, fmt.Sprint("a member: ", in)
		})
		if !isMember(t, alice, room, bob.UserID) {
			t.Fatal("trust B's IG admin removed a member of trust A's room through the bot")
		}
	})

	t.Run("no move out of clinical", func(t *testing.T) {
		testenv.Say(t, igB, room, "!policy classify social")
		testenv.WaitForNotice(t, alice, room, b.BotID(), foreign)
		testenv.Quiet(t, 2*time.Second, "the room staying clinical", func() (bool, string) {
			class := testenv.StateContent(t, alice, room, policy.PolicyEventType)["class"]
			return class == "clinical", fmt.Sprint(class)
		})
		if class := testenv.StateContent(t, alice, room, policy.PolicyEventType)["class"]; class != "clinical" {
			t.Fatalf("room class %v after trust B's IG admin asked for social", class)
		}
	})
}
