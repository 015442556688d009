package executor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// TestUpgradeOnDendrite: the bot upgrades a room it is in; the
// replacement, created by the bot, is recorded as the action's result, so
// the same decision again reports it without a second upgrade; and an
// upgrade resumed after a crash (the homeserver did it, the process died
// before recording it) finds the room's tombstone and upgrades nothing.
func TestUpgradeOnDendrite(t *testing.T) {
	e, st, _, alice := onDendrite(t)
	ctx := context.Background()
	roomWithBot := func() id.RoomID {
		t.Helper()
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", RoomVersion: "10", Invite: []id.UserID{e.bot.UserID},
			PowerLevelOverride: &event.PowerLevelsEventContent{Users: map[id.UserID]int{alice.UserID: 100, e.bot.UserID: 100}}})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := e.Execute(ctx, resp.RoomID, alice.UserID.String(), policy.AnswerBotInvitation(alice.UserID.String(), true, "x")); err != nil || len(res.Failures) > 0 {
			t.Fatalf("join: %+v %v", res, err)
		}
		return resp.RoomID
	}
	joined := func() int {
		t.Helper()
		rooms, err := e.bot.JoinedRooms(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(rooms.JoinedRooms)
	}
	d := policy.UpgradeRoom("11", alice.UserID.String())

	t.Run("done once per input, the replacement recorded", func(t *testing.T) {
		room := roomWithBot()
		in := WithInput(ctx, "event:$upgrade")
		res, err := e.Execute(in, room, alice.UserID.String(), d)
		if err != nil || len(res.Failures) > 0 || res.Room == "" || res.Room == room {
			t.Fatalf("upgrade: %+v %v", res, err)
		}
		repl := res.Room
		var tomb struct {
			ReplacementRoom id.RoomID `json:"replacement_room"`
		}
		if err := alice.StateEvent(ctx, room, typeTombstone, "", &tomb); err != nil || tomb.ReplacementRoom != repl {
			t.Fatalf("old room's tombstone names %q (%v), want %s", tomb.ReplacementRoom, err, repl)
		}
		var create struct {
			RoomVersion string `json:"room_version"`
			Predecessor struct {
				RoomID id.RoomID `json:"room_id"`
			} `json:"predecessor"`
		}
		if err := e.bot.StateEvent(ctx, repl, event.StateCreate, "", &create); err != nil || create.RoomVersion != "11" || create.Predecessor.RoomID != room {
			t.Fatalf("replacement's creation: %+v %v", create, err)
		}
		if members, err := e.bot.JoinedMembers(ctx, repl); err != nil || len(members.Joined) != 1 {
			t.Fatalf("replacement's members: %+v %v; want the bot alone, its creator", members, err)
		}
		before := joined()
		again, err := e.Execute(in, room, alice.UserID.String(), d)
		if err != nil || again.Room != repl {
			t.Fatalf("the upgrade decided again reports %q (%v), want %s", again.Room, err, repl)
		}
		if after := joined(); after != before {
			t.Errorf("the upgrade was done twice: the bot is in %d rooms, then %d", before, after)
		}
		var audited *store.AuditEntry
		_ = st.AuditSince(ctx, time.Time{}, func(a store.AuditEntry) error {
			if a.Action == string(policy.Upgrade) {
				audited = &a
			}
			return nil
		})
		if audited == nil || !strings.Contains(audited.Detail, `"room_version":"11"`) || !strings.Contains(audited.Detail, repl.String()) {
			t.Errorf("audit of the upgrade: %+v", audited)
		}
	})

	t.Run("resumed after a crash, finds the upgrade done", func(t *testing.T) {
		room := roomWithBot()
		in := WithInput(ctx, "event:$resumed-upgrade")
		txn := txnIDs(in, room, d.Actions)[0]
		if _, err := st.PlanActions(ctx, []store.LoggedAction{{TxnID: txn, RoomID: room.String(), Actor: alice.UserID.String(),
			JSON: []byte(`{"Kind":"upgrade_room","Rule":"room_upgrade","Version":"11"}`)}}); err != nil {
			t.Fatal(err)
		}
		// The homeserver upgraded the room; the process died before recording it.
		made, err := e.upgradeRoom(ctx, actionStep{room: room, action: d.Actions[0]})
		if err != nil {
			t.Fatal(err)
		}
		before := joined()
		if n, err := e.Replay(ctx); err != nil || n != 1 {
			t.Fatalf("replay: %d %v", n, err)
		}
		if after := joined(); after != before {
			t.Errorf("the resumed upgrade made another room: %d rooms, then %d", before, after)
		}
		res, err := e.Execute(in, room, alice.UserID.String(), d)
		if err != nil || res.Room != made {
			t.Errorf("the upgrade decided again reports %q (%v), want the room made before, %s", res.Room, err, made)
		}
	})
}

// An upgrade the homeserver fails (500) is reported to the person, not
// left pending to be tried again: each try could leave another half-made
// room. The homeserver saw one request.
func TestUpgradeFailedIsNotRetried(t *testing.T) {
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/upgrade") {
			asked.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"errcode":"M_UNKNOWN","error":"Internal Server Error"}`))
	}))
	defer srv.Close()
	e, st := againstFake(t, srv.URL)
	ctx := WithInput(context.Background(), "event:$fails")
	res, err := e.Execute(ctx, "!r:x", "@a:x", policy.UpgradeRoom("11", "@a:x"))
	if err != nil || len(res.Failures) != 1 || !strings.Contains(res.Failures[0], "the homeserver failed the upgrade") {
		t.Fatalf("Execute = %+v, %v; want one failure said plainly", res, err)
	}
	if pending, _ := st.PendingActions(ctx, 10); len(pending) != 0 {
		t.Errorf("left pending for the replay: %+v", pending)
	}
	if n := asked.Load(); n != 1 {
		t.Errorf("the homeserver was asked %d times, want once", n)
	}
}
