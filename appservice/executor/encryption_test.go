package executor

import (
	"context"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// TestEncryptionReadFromTheRoom: the executor, told nothing of a room (no
// transaction, no encryption device), reads whether it is encrypted before
// each message. An encrypted room made a moment ago gets no content in
// plaintext: only the content-free notice, audited as withheld; with
// plaintext allowed (trials, test trusts) it gets the notice itself; an
// unencrypted room always does.
func TestEncryptionReadFromTheRoom(t *testing.T) {
	e, st, _, alice := onDendrite(t)
	ctx := context.Background()
	room := func(encrypted bool) id.RoomID {
		req := &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{e.bot.UserID}}
		if encrypted {
			key := ""
			req.InitialState = []*event.Event{{Type: event.StateEncryption, StateKey: &key,
				Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}}}}
		}
		resp, err := alice.CreateRoom(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := e.Execute(ctx, resp.RoomID, alice.UserID.String(), policy.AnswerBotInvitation(alice.UserID.String(), true, "x")); err != nil || len(res.Failures) > 0 {
			t.Fatalf("join: %+v %v", res, err)
		}
		return resp.RoomID
	}
	const secret = "Dr Jane Doe was removed: not on the staff list"
	notice := func(roomID id.RoomID, input string) string {
		t.Helper()
		in := WithInput(ctx, input)
		if res, err := e.Execute(in, roomID, "@caldicott:x", policy.RoomNotice("test", secret, "test")); err != nil || len(res.Failures) > 0 {
			t.Fatalf("notice: %+v %v", res, err)
		}
		return lastBotMessage(t, alice, roomID, e.bot.UserID)
	}

	if got := notice(room(false), "a"); got != secret {
		t.Errorf("unencrypted room got %q, want the notice", got)
	}
	encrypted := room(true)
	got := notice(encrypted, "b")
	if strings.Contains(got, "Jane") || !strings.Contains(got, "cannot encrypt it") {
		t.Errorf("encrypted room, no device, got %q, want the content-free notice", got)
	}
	entries, err := st.AuditForRoom(ctx, encrypted.String(), 10)
	if err != nil || !hasAction(entries, "withheld.notify_room") {
		t.Errorf("no withheld.notify_room in the audit log: %+v %v", entries, err)
	}
	e.cfg.PlaintextInEncryptedRooms = true
	if got := notice(room(true), "c"); got != secret {
		t.Errorf("plaintext allowed, encrypted room got %q, want the notice", got)
	}
}

func hasAction(entries []store.AuditEntry, action string) bool {
	for _, en := range entries {
		if en.Action == action {
			return true
		}
	}
	return false
}

// lastBotMessage is the body of the bot's latest plaintext message in
// roomID (fails on an encrypted one: this executor has no device).
func lastBotMessage(t *testing.T, cli *mautrix.Client, roomID id.RoomID, bot id.UserID) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := cli.Messages(context.Background(), roomID, "", "", mautrix.DirectionBackward, nil, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, evt := range resp.Chunk {
			if evt.Sender != bot || evt.StateKey != nil {
				continue
			}
			if evt.Type != event.EventMessage {
				t.Fatalf("the bot sent %s", evt.Type.Type)
			}
			_ = evt.Content.ParseRaw(evt.Type)
			return evt.Content.AsMessage().Body
		}
	}
	t.Fatalf("no message from the bot in %s", roomID)
	return ""
}

// TestWithheldContent: the notice that stands in for one the bot cannot
// encrypt carries nothing of it (text, mentions) but the command it answers.
func TestWithheldContent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		orig    *event.MessageEventContent
		replyTo id.EventID
	}{
		{"room notice calling on someone", calling(noticeContent("Dr Doe: remove @bob:x"), []string{"@bob:x"}), ""},
		{"answer to a command", func() *event.MessageEventContent {
			c := noticeContent("Alice Smith is suspended")
			c.RelatesTo = (&event.RelatesTo{}).SetReplyTo("$cmd")
			return c
		}(), "$cmd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := withheldContent(tc.orig)
			if strings.Contains(c.Body+c.FormattedBody, tc.orig.Body) || c.Mentions != nil || c.MsgType != event.MsgNotice {
				t.Errorf("withheld notice carries content: %+v", c)
			}
			if got := c.RelatesTo.GetReplyTo(); got != tc.replyTo {
				t.Errorf("answers %q, want %q", got, tc.replyTo)
			}
		})
	}
}

// TestMegolm: whatever a room's m.room.encryption says, the device seals
// with Megolm, keeping the room's rotation settings.
func TestMegolm(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   *event.EncryptionEventContent
		want event.EncryptionEventContent
	}{
		{"none read", nil, event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}},
		{"emptied", &event.EncryptionEventContent{}, event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}},
		{"swapped", &event.EncryptionEventContent{Algorithm: "m.none", RotationPeriodMessages: 10},
			event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1, RotationPeriodMessages: 10}},
		{"megolm", &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1, RotationPeriodMillis: 3600000},
			event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1, RotationPeriodMillis: 3600000}},
	} {
		if got := megolm(tc.in); *got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, *got, tc.want)
		}
	}
}
