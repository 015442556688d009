package appservice_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// joinRuleChanges lists who set the room's join rules, oldest first.
func joinRuleChanges(t *testing.T, cli *mautrix.Client, room id.RoomID) []string {
	t.Helper()
	var out []string
	seen := map[id.EventID]bool{}
	from := "t0_0"
	for {
		resp, err := cli.Messages(ctx, room, from, "", mautrix.DirectionForward, nil, 100)
		if err != nil {
			t.Fatalf("read history: %v", err)
		}
		for _, e := range resp.Chunk {
			if e.Type == event.StateJoinRules && !seen[e.ID] {
				seen[e.ID] = true
				_ = e.Content.ParseRaw(e.Type)
				out = append(out, fmt.Sprintf("%s:%s", e.Sender, e.Content.AsJoinRules().JoinRule))
			}
		}
		if len(resp.Chunk) == 0 || resp.End == "" || resp.End == resp.Start {
			return out
		}
		from = resp.End
	}
}

// TestSharedClinicalRoom: a clinical room of trust A with trust B's staff.
// Trust B's bot accepts the invitation of trust A's member (it arrives over
// federation, seen only in the bot's own sync) and both bots, at power 100,
// guard the room without fighting: one drift, one repair, by the bot of the
// creator's trust — and when that bot is gone, trust B's takes over. A user
// of a server outside the federation cannot join at all.
func TestSharedClinicalRoom(t *testing.T) {
	a := trust.New(t, trust.Options{Host: "127.0.0.11"})
	b := trust.New(t, trust.Options{Host: "127.0.0.12"})
	outside := testenv.StartHomeserver(t, testenv.HomeserverOptions{IP: "127.0.0.13"})
	trust.Federate(a, b)
	a.Start(t)
	b.Start(t)
	alice := a.HS.RegisterUser(t, "alice", false)

	room := testenv.RoomWithBot(t, alice, a.BotID(), &mautrix.ReqCreateRoom{Preset: "private_chat"})
	testenv.SetPower(t, alice, room, a.BotID(), 100)
	testenv.Say(t, alice, room, "!policy classify clinical")
	a.CheckHardened(t, alice, room)
	testenv.SetPower(t, alice, room, b.BotID(), 100)
	if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: b.BotID()}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitMembership(t, alice, room, b.BotID(), "join")

	// One drift, one repair, by trust A's bot; nothing from trust B's.
	before := len(joinRuleChanges(t, alice, room))
	testenv.SetState(t, alice, room, "m.room.join_rules", map[string]any{"join_rule": "public"})
	testenv.WaitForState(t, alice, room, "m.room.join_rules", "join_rule", "invite")
	testenv.Quiet(t, 3*time.Second, "no fight over the join rules", func() (bool, string) {
		changes := joinRuleChanges(t, alice, room)[before:]
		return len(changes) <= 2, strings.Join(changes, ",")
	})
	changes := joinRuleChanges(t, alice, room)[before:]
	want := []string{alice.UserID.String() + ":public", a.BotID().String() + ":invite"}
	if strings.Join(changes, ",") != strings.Join(want, ",") {
		t.Fatalf("join rule changes after one drift: %v, want %v", changes, want)
	}

	// An outsider's server is kept out by the ACL trust A's bot keeps.
	carol := outside.RegisterUser(t, "carol", false)
	if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: carol.UserID}); err == nil {
		if _, err := carol.JoinRoom(ctx, room.String(), &mautrix.ReqJoinRoom{Via: []string{a.HS.ServerName}}); err == nil {
			t.Fatal("a user of a server outside the federation joined a clinical room")
		}
	}

	// Trust A's bot is gone: trust B's takes over the room.
	a.Stop(t)
	aBot, err := mautrix.NewClient(a.HS.URL, a.BotID(), a.Config.AppService.ASToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := aBot.LeaveRoom(ctx, room); err != nil {
		t.Fatalf("trust A's bot leaves: %v", err)
	}
	testenv.WaitMembership(t, alice, room, a.BotID(), "leave")
	testenv.SetState(t, alice, room, "m.room.join_rules", map[string]any{"join_rule": "public"})
	testenv.WaitForState(t, alice, room, "m.room.join_rules", "join_rule", "invite")
	changes = joinRuleChanges(t, alice, room)
	if last := changes[len(changes)-1]; last != b.BotID().String()+":invite" {
		t.Fatalf("after the hand-over the repair came from %s", last)
	}
}
