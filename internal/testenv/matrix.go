package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// What a test does in a room, and what it waits to see there, as one of the
// room's members would through a plain client (no decryption).

// Eventually polls cond until it holds or the timeout passes; cond returns
// what it saw, which the failure reports.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(150 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last seen: %s", timeout, what, last)
}

// Quiet is the one deliberate wait in the tests: it lets d pass, in which
// something must NOT happen (a bot must not answer, a room must not change),
// checking every poll that it has not; check returns false and what it saw
// when it has. Where a test waits for something to happen, use Eventually.
func Quiet(t testing.TB, d time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if ok, state := check(); !ok {
			t.Fatalf("within %s, %s did not hold: %s", d, what, state)
		}
		if !time.Now().Before(deadline) {
			return
		}
		time.Sleep(min(250*time.Millisecond, time.Until(deadline)+time.Millisecond))
	}
}

// WaitUntil waits for the wall clock to pass when: where a scenario needs
// time itself to pass (a second boundary, a timestamp's resolution, a
// message's age), not for anything the system does (use Eventually) or
// does not do (use Quiet).
func WaitUntil(when time.Time) {
	time.Sleep(time.Until(when))
}

// BotNotices returns the bodies of the bot's recent messages in a room, and
// fails the test for any that is not a notice with an HTML body (or a text
// message calling on someone, the only kind that notifies).
func BotNotices(t testing.TB, cli *mautrix.Client, roomID id.RoomID, bot id.UserID) []string {
	t.Helper()
	resp, err := cli.Messages(context.Background(), roomID, "", "", mautrix.DirectionBackward, nil, 100)
	if err != nil {
		t.Fatalf("read messages of %s: %v", roomID, err)
	}
	var out []string
	for _, evt := range resp.Chunk {
		if evt.Sender != bot || evt.Type != event.EventMessage || evt.Unsigned.RedactedBecause != nil {
			continue // not the bot's, or deleted under the room's retention
		}
		_ = evt.Content.ParseRaw(evt.Type)
		msg := evt.Content.AsMessage()
		if calls := msg.Mentions != nil && len(msg.Mentions.UserIDs) > 0; msg.MsgType != event.MsgNotice && (msg.MsgType != event.MsgText || !calls) {
			t.Errorf("bot sent msgtype %s (mentions %v), want m.notice, or m.text calling on someone", msg.MsgType, msg.Mentions)
		}
		if msg.FormattedBody == "" || msg.Format != event.FormatHTML {
			t.Errorf("bot notice without HTML body: %q", msg.Body)
		}
		out = append(out, msg.Body)
	}
	return out
}

// WaitForNotice waits for a bot notice containing every one of wants, and
// returns it.
func WaitForNotice(t testing.TB, cli *mautrix.Client, roomID id.RoomID, bot id.UserID, wants ...string) string {
	t.Helper()
	var found string
	Eventually(t, 20*time.Second, fmt.Sprintf("a notice containing %q", wants), func() (bool, string) {
		notices := BotNotices(t, cli, roomID, bot)
		for _, n := range notices {
			all := true
			for _, w := range wants {
				all = all && strings.Contains(n, w)
			}
			if all {
				found = n
				return true, ""
			}
		}
		return false, strings.Join(notices, "\n---\n")
	})
	return found
}

// StateContent reads the content of a state event with the empty state key
// (nil when absent).
func StateContent(t testing.TB, cli *mautrix.Client, roomID id.RoomID, evtType string) map[string]any {
	t.Helper()
	var out map[string]any
	err := cli.StateEvent(context.Background(), roomID, event.Type{Type: evtType, Class: event.StateEventType}, "", &out)
	if err != nil && !strings.Contains(err.Error(), "M_NOT_FOUND") {
		t.Fatalf("read %s of %s: %v", evtType, roomID, err)
	}
	return out
}

// WaitForState waits until one field of a state event's content is want.
func WaitForState(t testing.TB, cli *mautrix.Client, roomID id.RoomID, evtType, key string, want any) {
	t.Helper()
	Eventually(t, 20*time.Second, fmt.Sprintf("%s.%s = %v", evtType, key, want), func() (bool, string) {
		c := StateContent(t, cli, roomID, evtType)
		return fmt.Sprint(c[key]) == fmt.Sprint(want), fmt.Sprint(c)
	})
}

// Say sends a plain text message (a command, usually).
func Say(t testing.TB, cli *mautrix.Client, roomID id.RoomID, text string) {
	t.Helper()
	if _, err := cli.SendMessageEvent(context.Background(), roomID, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: text}); err != nil {
		t.Fatalf("send %q: %v", text, err)
	}
}

// Send sends one message event and returns its ID.
func Send(t testing.TB, cli *mautrix.Client, roomID id.RoomID, content any, evtType event.Type) id.EventID {
	t.Helper()
	resp, err := cli.SendMessageEvent(context.Background(), roomID, evtType, content)
	if err != nil {
		t.Fatalf("send %s: %v", evtType.Type, err)
	}
	return resp.EventID
}

// SendText sends a text message and returns its ID.
func SendText(t testing.TB, cli *mautrix.Client, roomID id.RoomID, text string) id.EventID {
	t.Helper()
	return Send(t, cli, roomID, &event.MessageEventContent{MsgType: event.MsgText, Body: text}, event.EventMessage)
}

// SetState sends a state event with the empty state key.
func SetState(t testing.TB, cli *mautrix.Client, roomID id.RoomID, evtType string, content any) {
	t.Helper()
	if _, err := cli.SendStateEvent(context.Background(), roomID, event.Type{Type: evtType, Class: event.StateEventType}, "", content); err != nil {
		t.Fatalf("set %s: %v", evtType, err)
	}
}

// RoomWithBot creates a room as owner, invites the bot and waits for it to join.
func RoomWithBot(t testing.TB, owner *mautrix.Client, bot id.UserID, req *mautrix.ReqCreateRoom) id.RoomID {
	t.Helper()
	req.Invite = append(req.Invite, bot)
	resp, err := owner.CreateRoom(context.Background(), req)
	if err != nil {
		t.Fatalf("create room: %v", err)
	}
	Eventually(t, 20*time.Second, "the bot to join", func() (bool, string) {
		m, err := owner.JoinedMembers(context.Background(), resp.RoomID)
		if err != nil {
			return false, err.Error()
		}
		_, ok := m.Joined[bot]
		return ok, fmt.Sprint(len(m.Joined), " members")
	})
	return resp.RoomID
}

// SetPower sets one user's power level in a room.
func SetPower(t testing.TB, cli *mautrix.Client, roomID id.RoomID, user id.UserID, level int) {
	t.Helper()
	var pl event.PowerLevelsEventContent
	if err := cli.StateEvent(context.Background(), roomID, event.StatePowerLevels, "", &pl); err != nil {
		t.Fatal(err)
	}
	pl.SetUserLevel(user, level)
	if _, err := cli.SendStateEvent(context.Background(), roomID, event.StatePowerLevels, "", &pl); err != nil {
		t.Fatalf("set power of %s: %v", user, err)
	}
}

// MembershipOf is a user's membership of a room as cli sees it ("" when
// cli cannot read it).
func MembershipOf(t testing.TB, cli *mautrix.Client, roomID id.RoomID, user id.UserID) string {
	t.Helper()
	var member struct {
		Membership string `json:"membership"`
	}
	_ = cli.StateEvent(context.Background(), roomID, event.StateMember, user.String(), &member)
	return member.Membership
}

// WaitMembership waits until a user's membership of a room is want.
func WaitMembership(t testing.TB, cli *mautrix.Client, roomID id.RoomID, user id.UserID, want string) {
	t.Helper()
	Eventually(t, 20*time.Second, fmt.Sprintf("%s to be %s", user, want), func() (bool, string) {
		got := MembershipOf(t, cli, roomID, user)
		return got == want, got
	})
}

// EachRedaction reads a room's whole history, oldest first, and calls fn
// once for each redaction event in it with the event it redacts.
func EachRedaction(t testing.TB, cli *mautrix.Client, roomID id.RoomID, fn func(e *event.Event, target id.EventID)) {
	t.Helper()
	seen := map[id.EventID]bool{} // pages may overlap at their edges
	from := "t0_0"                // Dendrite's start of history (it refuses a missing "from")
	for {
		resp, err := cli.Messages(context.Background(), roomID, from, "", mautrix.DirectionForward, nil, 100)
		if err != nil {
			t.Fatalf("read history of %s: %v", roomID, err)
		}
		for _, e := range resp.Chunk {
			if e.Type != event.EventRedaction || seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			target := e.Redacts
			if target == "" {
				var c struct {
					Redacts id.EventID `json:"redacts"`
				}
				_ = json.Unmarshal(e.Content.VeryRaw, &c)
				target = c.Redacts
			}
			fn(e, target)
		}
		if len(resp.Chunk) == 0 || resp.End == "" || resp.End == resp.Start {
			return
		}
		from = resp.End
	}
}

// AcceptedOverFederation joins cli to a room on another homeserver (via),
// trying again while the joiner's server refuses (Dendrite sometimes
// refuses a federated join made the moment the invitation lands). It does
// not wait for the joiner's own room state: for tests that go on from the
// room's host's side. A test whose joiner then sends uses
// JoinOverFederation.
func AcceptedOverFederation(t testing.TB, cli *mautrix.Client, roomID id.RoomID, via string) {
	t.Helper()
	Eventually(t, 30*time.Second, string(cli.UserID)+" to join over federation", func() (bool, string) {
		_, err := cli.JoinRoom(context.Background(), roomID.String(), &mautrix.ReqJoinRoom{Via: []string{via}})
		return err == nil, fmt.Sprint(err)
	})
}

// JoinOverFederation joins cli to a room on another homeserver (via) and
// waits until cli's own homeserver has the join in the room's state, so
// what cli sends next is authorised. Dendrite sometimes refuses a
// federated join made the moment the invitation lands (it authorises it
// against state it is still fetching), and sometimes answers a join it
// then does not keep (its room state never shows it; seen in CI): each is
// tried again, a join at most every 5 s, for up to 60 s.
func JoinOverFederation(t testing.TB, cli *mautrix.Client, roomID id.RoomID, via string) {
	t.Helper()
	if ok, last := TryJoinOverFederation(cli, roomID, via, 60*time.Second); !ok {
		t.Fatalf("timed out after 1m0s waiting for %s to join over federation; last seen: %s", cli.UserID, last)
	}
}

// TryJoinOverFederation is JoinOverFederation for a test that can start
// again in a new room when the joiner's server never shows the join (a
// Dendrite failure seen in CI, its cause unknown): it reports whether the
// join was shown within d, and what was last seen.
func TryJoinOverFederation(cli *mautrix.Client, roomID id.RoomID, via string, d time.Duration) (bool, string) {
	var lastJoin time.Time
	last := ""
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(150 * time.Millisecond) {
		if shown, why := joinShown(cli, roomID); shown {
			return true, ""
		} else if time.Since(lastJoin) < 5*time.Second {
			last = "joined; waiting for the homeserver to show it (" + why + ")"
			continue
		}
		lastJoin = time.Now()
		if _, err := cli.JoinRoom(context.Background(), roomID.String(), &mautrix.ReqJoinRoom{Via: []string{via}}); err != nil {
			lastJoin = time.Time{} // refused: try again at the next poll
			last = err.Error()
		}
	}
	return false, last
}

// joinShown reports whether cli's own homeserver shows cli joined to
// roomID, in the room's state or in its list of joined rooms (Dendrite
// keeps the two apart), and otherwise what each said, for the failure
// message.
func joinShown(cli *mautrix.Client, roomID id.RoomID) (bool, string) {
	ctx := context.Background()
	var member struct {
		Membership string `json:"membership"`
	}
	stateErr := cli.StateEvent(ctx, roomID, event.StateMember, cli.UserID.String(), &member)
	if stateErr == nil && member.Membership == "join" {
		return true, ""
	}
	joined, listErr := cli.JoinedRooms(ctx)
	if listErr == nil && slices.Contains(joined.JoinedRooms, roomID) {
		return true, ""
	}
	return false, fmt.Sprintf("state: %q %v; joined rooms: %v", member.Membership, stateErr, listErr)
}

// EventOf reads one event as cli sees it. Dendrite answers a send before its
// sync side, which serves GET /event, has the event, so a read right after
// sending may be a 404 for a moment: that is waited out (10 s at most).
func EventOf(t testing.TB, cli *mautrix.Client, roomID id.RoomID, eventID id.EventID) *event.Event {
	t.Helper()
	var evt *event.Event
	Eventually(t, 10*time.Second, "event "+eventID.String()+" to be readable", func() (bool, string) {
		var err error
		evt, err = cli.GetEvent(context.Background(), roomID, eventID)
		return err == nil, fmt.Sprint(err)
	})
	return evt
}
