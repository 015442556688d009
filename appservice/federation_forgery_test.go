package appservice_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestFederationChangesNeedProof: a member trust's bot (its operator holds
// its as_token) tries to change the federation for everyone: it allows a
// server of its choosing (a name and an IP literal), bans a trust that
// trust A lists in its own config, and withdraws or replays member-trust
// rules, each time claiming the federation's admin asked for it. Trust A
// refuses every one, says so in its management room, and its clinical
// room's server ACL does not move, live and after a restart. A change the
// admin really asked for, in the list room, is applied by the other trust,
// which reads the request from its own homeserver.
func TestFederationChangesNeedProof(t *testing.T) {
	a := trust.New(t, trust.Options{Host: "127.0.0.11"})
	b := trust.New(t, trust.Options{Host: "127.0.0.12"})
	trust.Federate(a, b)
	// A third trust in A's own config, whose server is not running: the list
	// alone must never take it out of A's rooms.
	const configured = "127.0.0.13:8448"
	a.Config.Federation.Servers = append(a.Config.Federation.Servers, configured)
	igA := a.HS.RegisterUser(t, "ig", false)
	a.Start(t)
	b.Start(t)
	mgmtA := a.Service.ManagementRoom()
	if _, err := igA.JoinRoomByID(ctx, mgmtA); err != nil {
		t.Fatal(err)
	}
	listRoom := a.Service.FederationListRoom()
	testenv.Eventually(t, 30*time.Second, "trust B's bot to join the list", func() (bool, string) {
		return b.Service.FederationListRoom() == listRoom, string(b.Service.FederationListRoom())
	})
	testenv.Eventually(t, 30*time.Second, "the federation's admin to join the list room", func() (bool, string) {
		_, err := igA.JoinRoomByID(ctx, listRoom)
		return err == nil, fmt.Sprint(err)
	})
	aclHas := func(cli *mautrix.Client, r id.RoomID, server string) bool {
		host, _, _ := strings.Cut(server, ":") // ACLs name hosts without ports
		return slices.Contains(aclAllow(t, cli, r), host)
	}
	alice := a.HS.RegisterUser(t, "alice", false)
	room := testenv.RoomWithBot(t, alice, a.BotID(), &mautrix.ReqCreateRoom{Preset: "private_chat"})
	testenv.SetPower(t, alice, room, a.BotID(), 100)
	testenv.Say(t, alice, room, "!policy classify clinical")
	testenv.Eventually(t, 20*time.Second, "trust A's clinical room to admit its configured trusts", func() (bool, string) {
		var acl map[string]any
		err := alice.StateEvent(ctx, room, event.StateServerACL, "", &acl)
		return err == nil && aclHas(alice, room, configured) && aclHas(alice, room, b.HS.ServerName), fmt.Sprint(acl, err)
	})
	bob := b.HS.RegisterUser(t, "bob", false)
	roomB := b.ClinicalRoom(t, bob)

	bBot, err := mautrix.NewClient(b.HS.URL, b.BotID(), b.Config.AppService.ASToken)
	if err != nil {
		t.Fatal(err)
	}
	serverRule := event.Type{Type: "m.policy.rule.server", Class: event.StateEventType}
	forge := func(entity string, content map[string]any) {
		t.Helper()
		if _, err := bBot.SendStateEvent(ctx, listRoom, serverRule, "rule:"+entity, content); err != nil {
			t.Fatalf("trust B's bot writes a rule about %s: %v", entity, err)
		}
	}
	admin := igA.UserID.String()
	refused := "I refused a rule on the federation's policy list from " + b.BotID().String()

	// 1. Allow a new server, by name and by IP literal, "for" the admin.
	forge("evil.example", map[string]any{"entity": "evil.example", "recommendation": "m.allow", "reason": "member trust", "org.caldicott.requested_by": admin})
	testenv.WaitForNotice(t, igA, mgmtA, a.BotID(), refused, `about "evil.example"`, "cites no request")
	// ... citing a real message of the admin's that asked for nothing.
	chat, err := igA.SendText(ctx, listRoom, "Morning all: trust C joins us next week.")
	if err != nil {
		t.Fatal(err)
	}
	forge("127.0.0.66", map[string]any{"entity": "127.0.0.66", "recommendation": "org.matrix.mjolnir.allow", "org.caldicott.requested_by": admin, "org.caldicott.proof": chat.EventID.String()})
	testenv.WaitForNotice(t, igA, mgmtA, a.BotID(), refused, `about "127.0.0.66"`, "is not a `!policy trust add|remove <server>` command")

	// 2. Ban a trust that trust A lists in its own config.
	forge(configured, map[string]any{"entity": configured, "recommendation": "m.ban", "org.caldicott.requested_by": admin})
	testenv.WaitForNotice(t, igA, mgmtA, a.BotID(), refused, `about "`+configured+`"`)

	// 3. A change the admin asks for in the list room: trust A's bot
	// publishes it, trust B checks the request on its own homeserver.
	const added = "127.0.0.77"
	testenv.Say(t, igA, listRoom, "!policy trust add "+added)
	testenv.WaitForNotice(t, igA, listRoom, a.BotID(), added+" is added to the federation's list")
	testenv.Eventually(t, 60*time.Second, "both trusts' clinical rooms to admit "+added, func() (bool, string) {
		inA, inB := aclHas(alice, room, added), aclHas(bob, roomB, added)
		return inA && inB, fmt.Sprint(inA, inB)
	})
	var published map[string]any
	if err := igA.StateEvent(ctx, listRoom, serverRule, "rule:"+added, &published); err != nil {
		t.Fatal(err)
	}

	// 4. Withdraw that allow rule: emptied, then turned into a ban citing
	// the admin's request to add it.
	forge(added, map[string]any{})
	testenv.WaitForNotice(t, igA, mgmtA, a.BotID(), refused, "It overwrote "+admin+"'s rule about "+added)
	testenv.Eventually(t, 20*time.Second, "trust A to write its rule back, proof and all", func() (bool, string) {
		var c map[string]any
		err := igA.StateEvent(ctx, listRoom, serverRule, "rule:"+added, &c)
		return err == nil && c["org.caldicott.proof"] == published["org.caldicott.proof"] && c["entity"] == added, fmt.Sprint(c, err)
	})
	forge(added, map[string]any{"entity": added, "recommendation": "m.ban", "org.caldicott.requested_by": admin, "org.caldicott.proof": published["org.caldicott.proof"]})
	testenv.WaitForNotice(t, igA, mgmtA, a.BotID(), refused, "asked to add "+added+", not to remove "+added)

	// 5. The admin removes it; trust B's bot replays the old request to add.
	testenv.Say(t, igA, listRoom, "!policy trust remove "+added)
	testenv.WaitForNotice(t, igA, listRoom, a.BotID(), added+" is removed from the federation's list")
	testenv.Eventually(t, 60*time.Second, "both trusts' clinical rooms to drop "+added, func() (bool, string) {
		inA, inB := aclHas(alice, room, added), aclHas(bob, roomB, added)
		return !inA && !inB, fmt.Sprint(inA, inB)
	})
	forge(added, map[string]any{"entity": added, "recommendation": "org.matrix.mjolnir.allow", "org.caldicott.requested_by": admin, "org.caldicott.proof": published["org.caldicott.proof"]})
	testenv.WaitForNotice(t, igA, mgmtA, a.BotID(), refused, "is older than")

	// 6. The admin really removes the trust in A's config: A keeps it, and says why.
	testenv.Say(t, igA, listRoom, "!policy trust remove "+configured)
	testenv.WaitForNotice(t, igA, mgmtA, a.BotID(), "removed "+configured+" from the federation's list of member trusts", "stays a member trust here")

	check := func(when string) {
		t.Helper()
		// What would follow a wrongly applied rule has had time to.
		testenv.Quiet(t, 3*time.Second, when+": trust A's clinical room admitting no forged server", func() (bool, string) {
			allow := aclAllow(t, alice, room)
			for _, s := range []string{"evil.example", "127.0.0.66", added} {
				if slices.Contains(allow, s) {
					return false, fmt.Sprint(allow)
				}
			}
			return true, ""
		})
		allow := aclAllow(t, alice, room)
		for _, s := range []string{"evil.example", "127.0.0.66", added} {
			if slices.Contains(allow, s) {
				t.Errorf("%s: trust A's clinical room admits %s: %v", when, s, allow)
			}
		}
		if !aclHas(alice, room, configured) || !aclHas(alice, room, b.HS.ServerName) {
			t.Errorf("%s: trust A's clinical room lost a member trust: %v", when, allow)
		}
	}
	check("live")
	testenv.Say(t, igA, mgmtA, "!policy federation")
	testenv.WaitForNotice(t, igA, mgmtA, a.BotID(), "Rules refused since I started: 6")

	// After a restart the list is read from the room's state afresh.
	a.Stop(t)
	a.Start(t)
	testenv.Eventually(t, 30*time.Second, "trust A to read the list again", func() (bool, string) {
		return a.Service.FederationListRoom() == listRoom, string(a.Service.FederationListRoom())
	})
	check("after a restart")
}
