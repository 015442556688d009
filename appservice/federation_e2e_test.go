package appservice_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

func aclAllow(t *testing.T, cli *mautrix.Client, room id.RoomID) []string {
	t.Helper()
	var acl struct {
		Allow []string `json:"allow"`
	}
	if err := cli.StateEvent(ctx, room, event.StateServerACL, "", &acl); err != nil {
		t.Fatalf("read server ACL: %v", err)
	}
	return acl.Allow
}

// TestFederationPolicyList: two trusts share one policy list. A leaver
// recorded by trust B is published at once and trust A removes them from
// its clinical room; a rule about another trust's staff, or from someone
// who is not a trust's bot, is refused and reported; a trust added by the
// federation's admin appears in every clinical room's server ACL; a
// withdrawn rule lets the person be invited again.
func TestFederationPolicyList(t *testing.T) {
	a := trust.New(t, trust.Options{Host: "127.0.0.11"})
	b := trust.New(t, trust.Options{Host: "127.0.0.12"})
	trust.Federate(a, b)
	// The federation's admin has an account before the list room is made,
	// so trust A's bot can invite them to it.
	igA := a.HS.RegisterUser(t, "ig", false)
	a.Start(t)
	b.Start(t)
	mgmtA := a.Service.ManagementRoom()
	if _, err := igA.JoinRoomByID(ctx, mgmtA); err != nil {
		t.Fatal(err)
	}
	alice := a.HS.RegisterUser(t, "alice", false)
	dora := b.HS.RegisterUser(t, "dora", false)
	if err := a.Store.UpsertStaff(ctx, []store.StaffRecord{{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Store.UpsertStaff(ctx, []store.StaffRecord{{UserID: dora.UserID.String(), Name: "Dora Patel", Role: "Registrar", Status: "active", Source: "csv"}}); err != nil {
		t.Fatal(err)
	}
	igB, mgmtB := b.IGAdmin(t)

	// Both bots are in the list room.
	listRoom := a.Service.FederationListRoom()
	if listRoom == "" {
		t.Fatal("trust A has no federation list room")
	}
	testenv.Eventually(t, 30*time.Second, "trust B's bot to join the list", func() (bool, string) {
		return b.Service.FederationListRoom() == listRoom, string(b.Service.FederationListRoom())
	})

	room := a.ClinicalRoom(t, alice)
	if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: dora.UserID}); err != nil {
		t.Fatal(err)
	}
	testenv.AcceptedOverFederation(t, dora, room, a.HS.ServerName)
	testenv.WaitMembership(t, alice, room, dora.UserID, "join")

	// Trust B records dora as a leaver; trust A removes her within seconds.
	start := time.Now()
	testenv.Say(t, igB, mgmtB, "!policy leaver "+dora.UserID.String()+" moved to another trust")
	waitGone(t, alice, room, dora.UserID, 20*time.Second)
	t.Logf("a leaver recorded on trust B was removed from trust A's room %s later", time.Since(start).Round(time.Millisecond))

	// Forged: trust B's bot banning a user of trust A.
	bBot, err := mautrix.NewClient(b.HS.URL, b.BotID(), b.Config.AppService.ASToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bBot.SendStateEvent(ctx, listRoom, event.Type{Type: "m.policy.rule.user", Class: event.StateEventType}, "rule:"+alice.UserID.String(),
		map[string]any{"entity": alice.UserID.String(), "recommendation": "m.ban", "reason": "forged"}); err != nil {
		t.Fatalf("send the forged rule: %v", err)
	}
	testenv.WaitForNotice(t, igA, mgmtA, a.BotID(), "I refused a rule on the federation's policy list from "+b.BotID().String())
	// Forged: someone who is not a trust's bot (the federation's admin, who
	// may write to the room) banning a user.
	testenv.Eventually(t, 30*time.Second, "the federation's admin to join the list room", func() (bool, string) {
		_, err := igA.JoinRoomByID(ctx, listRoom)
		return err == nil, fmt.Sprint(err)
	})
	if _, err := igA.SendStateEvent(ctx, listRoom, event.Type{Type: "m.policy.rule.user", Class: event.StateEventType}, "rule:@erin:"+b.HS.ServerName,
		map[string]any{"entity": "@erin:" + b.HS.ServerName, "recommendation": "m.ban", "reason": "not mine to say"}); err != nil {
		t.Fatalf("send the second forged rule: %v", err)
	}
	testenv.WaitForNotice(t, igA, mgmtA, a.BotID(), "I refused a rule on the federation's policy list from "+igA.UserID.String())
	// Forged: trust B's bot erasing trust A's rule about one of A's leavers.
	// Trust A refuses it and writes its rule back, so a trust reading the
	// list afresh still sees it.
	zed := "@zed:" + a.HS.ServerName
	testenv.Say(t, igA, mgmtA, "!policy leaver "+zed)
	ruleType := event.Type{Type: "m.policy.rule.user", Class: event.StateEventType}
	testenv.Eventually(t, 20*time.Second, "trust A to publish zed", func() (bool, string) {
		var c map[string]any
		err := igA.StateEvent(ctx, listRoom, ruleType, "rule:"+zed, &c)
		return err == nil && c["entity"] == zed, fmt.Sprint(c, err)
	})
	if _, err := bBot.SendStateEvent(ctx, listRoom, ruleType, "rule:"+zed, map[string]any{}); err != nil {
		t.Fatalf("erase trust A's rule: %v", err)
	}
	testenv.WaitForNotice(t, igA, mgmtA, a.BotID(), "It overwrote "+a.BotID().String()+"'s rule about "+zed)
	testenv.Eventually(t, 20*time.Second, "trust A to restore its rule", func() (bool, string) {
		var c map[string]any
		err := igA.StateEvent(ctx, listRoom, ruleType, "rule:"+zed, &c)
		return err == nil && c["entity"] == zed && c["recommendation"] == "m.ban", fmt.Sprint(c, err)
	})

	testenv.Say(t, alice, room, "!policy status")
	testenv.WaitForNotice(t, alice, room, a.BotID(), "This room is clinical")
	if testenv.MembershipOf(t, alice, room, alice.UserID) != "join" {
		t.Fatal("a forged rule removed alice")
	}
	testenv.Say(t, igA, mgmtA, "!policy federation")
	testenv.WaitForNotice(t, igA, mgmtA, a.BotID(), "Member trusts:", b.BotID().String(), "Rules refused since I started: 3")

	// The federation's admin adds a trust: every clinical room's ACL follows.
	bob := b.HS.RegisterUser(t, "bob", false)
	roomB := b.ClinicalRoom(t, bob)
	testenv.Say(t, igA, mgmtA, "!policy trust add 127.0.0.13")
	testenv.WaitForNotice(t, igA, mgmtA, a.BotID(), "Give this command in the federation's policy list room")
	testenv.Say(t, igA, listRoom, "!policy trust add 127.0.0.13")
	testenv.WaitForNotice(t, igA, listRoom, a.BotID(), "127.0.0.13 is added to the federation's list")
	testenv.Eventually(t, 60*time.Second, "both trusts' clinical rooms to admit 127.0.0.13", func() (bool, string) {
		inA := slices.Contains(aclAllow(t, alice, room), "127.0.0.13")
		inB := slices.Contains(aclAllow(t, bob, roomB), "127.0.0.13")
		return inA && inB, fmt.Sprint(inA, inB)
	})
	testenv.Say(t, igB, mgmtB, "!policy trust add 127.0.0.14")
	testenv.WaitForNotice(t, igB, mgmtB, b.BotID(), "Only the federation's admins")

	// Dora is back: trust B withdraws the rule; she may be invited again.
	if err := b.Store.SetStaffStatus(ctx, dora.UserID.String(), "active"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "trust A to read the withdrawal", func() (bool, string) {
		return a.Service.FederationBanReason(dora.UserID.String()) == "", a.Service.FederationBanReason(dora.UserID.String())
	})
	if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: dora.UserID}); err != nil {
		t.Fatal(err)
	}
	testenv.Quiet(t, 3*time.Second, "dora's invitation to stand after the withdrawal", func() (bool, string) {
		got := testenv.MembershipOf(t, alice, room, dora.UserID)
		return got == "invite", got
	})
	if got := testenv.MembershipOf(t, alice, room, dora.UserID); got != "invite" {
		t.Fatalf("dora's invitation after the withdrawal: %s", got)
	}
}
