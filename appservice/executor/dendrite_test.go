package executor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	mas "maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

func hexToken() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// onDendrite is an executor writing as the bot of a real Dendrite.
func onDendrite(t *testing.T) (*Executor, *store.Store, *testenv.Homeserver, *mautrix.Client) {
	t.Helper()
	hs := testenv.PlanHomeserver(t, testenv.HomeserverOptions{IP: "127.0.0.11"})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
homeserver: {address: %q, domain: %q}
appservice: {address: "http://127.0.0.1:%d", as_token: %q, hs_token: %q, encryption: disabled}
trust: {name: "Trust A"}
`, hs.URL, hs.ServerName, testenv.FreePort(t, "127.0.0.1"), hexToken(), hexToken())))
	if err != nil {
		t.Fatal(err)
	}
	reg := filepath.Join(t.TempDir(), "registration.yaml")
	if err := cfg.Registration().Save(reg); err != nil {
		t.Fatal(err)
	}
	hs.AddRegistration(reg)
	hs.Start(t)
	as, err := mas.CreateFull(mas.CreateOpts{Registration: cfg.Registration(), HomeserverDomain: hs.ServerName, HomeserverURL: hs.URL, HostConfig: mas.HostConfig{Hostname: "127.0.0.1", Port: 1}})
	if err != nil {
		t.Fatal(err)
	}
	bot := as.BotClient()
	bot.StateStore = nil
	st, err := store.Open(context.Background(), store.SQLite, filepath.Join(t.TempDir(), "c.db"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := New(bot, as.HTTPClient, st, Config{OwnServer: hs.ServerName, HomeserverURL: hs.URL}, nil, zerolog.Nop())
	if err := e.PrepareBot(context.Background(), as.BotIntent().EnsureRegistered, "Caldicott"); err != nil {
		t.Fatal(err)
	}
	alice := hs.RegisterUser(t, "alice", false)
	return e, st, hs, alice
}

// The action kinds the features to come rely on, against a real Dendrite:
// a redaction done once however often it is decided for the same input, a
// private notice that opens one direct chat and reuses it, and a creation
// resumed after a crash that finds the room it made instead of a second.
func TestActionsOnDendrite(t *testing.T) {
	e, st, _, alice := onDendrite(t)
	ctx := context.Background()
	resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{e.bot.UserID},
		PowerLevelOverride: &event.PowerLevelsEventContent{Users: map[id.UserID]int{alice.UserID: 100, e.bot.UserID: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	room := resp.RoomID
	if res, err := e.Execute(ctx, room, alice.UserID.String(), policy.AnswerBotInvitation(alice.UserID.String(), true, "x")); err != nil || len(res.Failures) > 0 || res.Room != room {
		t.Fatalf("join: %+v %v", res, err)
	}

	t.Run("a room upgrade's join the homeserver fails is reported, not retried", func(t *testing.T) {
		// Dendrite answers 500 to a join of a room that does not exist.
		ghost := "!nosuchroom:" + e.cfg.OwnServer
		in := WithInput(ctx, "event:$tombstone")
		res, err := e.Execute(in, id.RoomID(ghost), "@admin:x", policy.JoinReplacement(policy.Succession{OldRoom: room.String(), NewRoom: ghost, UpgradedBy: "@admin:x"}))
		if err != nil || len(res.Failures) != 1 || !strings.Contains(res.Failures[0], "does not exist or its servers cannot be reached") {
			t.Fatalf("join of a missing room: %+v %v; want a failure, not an error to retry", res, err)
		}
		if pending, err := st.PendingActions(ctx, 10); err != nil || len(pending) != 0 {
			t.Fatalf("left pending for every start-up: %+v %v", pending, err)
		}
		// An invite-only room the bot is not invited to: said plainly.
		private, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat"})
		if err != nil {
			t.Fatal(err)
		}
		res, err = e.Execute(in, private.RoomID, "@admin:x", policy.JoinBotRoom(private.RoomID.String(), "test"))
		if err != nil || len(res.Failures) != 1 || !strings.Contains(res.Failures[0], "not invited to it (it is invite-only)") {
			t.Fatalf("join of a room the bot is not invited to: %+v %v", res, err)
		}
	})

	t.Run("a redaction is done once per input", func(t *testing.T) {
		sent, err := alice.SendText(ctx, room, "1234567890")
		if err != nil {
			t.Fatal(err)
		}
		// Unexported on purpose: a redaction is decided by a rule; the
		// test builds the one action here, inside the executor's package.
		redact := policy.Decision{Actions: []policy.Action{{Kind: policy.Redact, Rule: "test", EventID: sent.EventID.String(), Text: "test"}}}
		in := WithInput(ctx, "event:"+sent.EventID.String())
		for range 2 {
			if res, err := e.Execute(in, room, "@caldicott:x", redact); err != nil || len(res.Failures) > 0 {
				t.Fatalf("redact: %+v %v", res, err)
			}
		}
		redacted := false
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !redacted; time.Sleep(100 * time.Millisecond) {
			got, err := alice.GetEvent(ctx, room, sent.EventID)
			if err != nil {
				t.Fatal(err)
			}
			redacted = len(got.Content.Raw) == 0
		}
		if !redacted {
			t.Error("message not redacted")
		}
		if n := countEvents(t, alice, room, event.EventRedaction.Type); n != 1 {
			t.Errorf("%d redactions, want 1", n)
		}
	})

	t.Run("a redaction resumed after a crash is not done twice", func(t *testing.T) {
		sent, err := alice.SendText(ctx, room, "resumed")
		if err != nil {
			t.Fatal(err)
		}
		a := policy.Action{Kind: policy.Redact, Rule: "test", EventID: sent.EventID.String(), Text: "test"}
		raw, _ := json.Marshal(a)
		txn := txnIDs(WithInput(ctx, "test:resume-redact"), room, []policy.Action{a})[0]
		if _, err := st.PlanActions(ctx, []store.LoggedAction{{TxnID: txn, RoomID: room.String(), Actor: "@caldicott:x", JSON: raw}}); err != nil {
			t.Fatal(err)
		}
		// The homeserver deleted it, but the process died before the
		// answer came: Dendrite, which had not answered, does not know
		// the transaction ID, so what arrives next counts as another.
		if _, err := e.bot.RedactEvent(ctx, room, sent.EventID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Replay(ctx); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, evt := range latestEvents(t, alice, room) {
			if evt.Type == event.EventRedaction && evt.Redacts == sent.EventID {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the event was deleted %d times, want once", n)
		}
	})

	t.Run("a private notice opens one direct chat and reuses it", func(t *testing.T) {
		for i := range 2 {
			d := policy.TellUser(policy.RuleRequestAnswered, alice.UserID.String(), "", fmt.Sprintf("notice %d", i), "test")
			if res, err := e.Execute(ctx, room, "@caldicott:x", d); err != nil || len(res.Failures) > 0 {
				t.Fatalf("notify user: %+v %v", res, err)
			}
		}
		dm, ok, err := st.KV(ctx, "dm:"+alice.UserID.String())
		if err != nil || !ok {
			t.Fatalf("direct chat not remembered: %v", err)
		}
		if _, err := alice.JoinRoomByID(ctx, id.RoomID(dm)); err != nil {
			t.Fatalf("the person cannot open the direct chat: %v", err)
		}
		if n := countEvents(t, alice, id.RoomID(dm), event.EventMessage.Type); n != 2 {
			t.Errorf("%d notices in the direct chat, want 2", n)
		}
		sync, err := alice.SyncRequest(ctx, 0, "", "", false, event.PresenceOffline)
		if err != nil {
			t.Fatal(err)
		}
		if len(sync.Rooms.Invite) != 0 {
			t.Errorf("a second direct chat was opened: %d invitations left", len(sync.Rooms.Invite))
		}
	})

	t.Run("a creation resumed after a crash finds its room", func(t *testing.T) {
		plan := policy.BotRoomPlan("", "Resumed", "", "private_chat", nil, false, nil, policy.Requirements{BotUserID: e.bot.UserID.String()})
		d := policy.CreatePlannedRoom(plan, policy.RuleBotRooms, "test")
		in := WithInput(ctx, "test:resume")
		txn := txnIDs(in, "", d.Actions)[0]
		// The homeserver made the room; the process died before recording it.
		if _, err := st.PlanActions(ctx, []store.LoggedAction{{TxnID: txn, JSON: []byte(`{"Kind":"create_room","Rule":"bot_rooms","Plan":{"Name":"Resumed","Preset":"private_chat"}}`)}}); err != nil {
			t.Fatal(err)
		}
		made, err := e.bot.CreateRoom(ctx, createRequest(plan, txn))
		if err != nil {
			t.Fatal(err)
		}
		before, _ := e.bot.JoinedRooms(ctx)
		if _, err := e.Replay(ctx); err != nil {
			t.Fatal(err)
		}
		after, _ := e.bot.JoinedRooms(ctx)
		if len(after.JoinedRooms) != len(before.JoinedRooms) {
			t.Errorf("resumed creation made another room: %d rooms, then %d", len(before.JoinedRooms), len(after.JoinedRooms))
		}
		res, err := e.Execute(in, "", "@caldicott:x", d)
		if err != nil || res.Room != made.RoomID {
			t.Errorf("the creation decided again reports %q (%v), want the room made before, %s", res.Room, err, made.RoomID)
		}
	})
}

// latestEvents is the room's latest 100 events, newest first.
func latestEvents(t *testing.T, cli *mautrix.Client, room id.RoomID) []*event.Event {
	t.Helper()
	resp, err := cli.Messages(context.Background(), room, "", "", mautrix.DirectionBackward, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Chunk
}

func countEvents(t *testing.T, cli *mautrix.Client, room id.RoomID, eventType string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	n := 0
	for time.Now().Before(deadline) {
		resp, err := cli.Messages(context.Background(), room, "", "", mautrix.DirectionBackward, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		n = 0
		for _, evt := range resp.Chunk {
			if evt.Type.Type == eventType && evt.Sender != cli.UserID {
				n++
			}
		}
		if n > 0 {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
	return n
}
