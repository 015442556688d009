package appservice_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/gatekeeper"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/policy"
)

// TestTwoLines (issue 20's two lines): one scenario — an outsider invited
// into a clinical room, an NHS number posted in a social room, a clinical
// room made public — played on real Dendrites with the gatekeeper in front
// of the trust's and without. With it, none of the three reaches Dendrite:
// the outsider's homeserver never hears of the room, the other member's
// /sync never carries the number, the join rule never changes. Without it,
// all three happen and the appservice repairs them after the fact: the
// outsider removed, the message redacted, the join rule set back.
func TestTwoLines(t *testing.T) {
	for _, line := range []struct {
		name       string
		gatekeeper bool
	}{
		{"first line: the gatekeeper refuses beforehand", true},
		{"second line: the appservice repairs after the fact", false},
	} {
		t.Run(line.name, func(t *testing.T) { twoLinesScenario(t, line.gatekeeper) })
	}
}

const nhsInSocial = "Mrs Jones 943 476 5919 needs a bed"

func twoLinesScenario(t *testing.T, withGatekeeper bool) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Gatekeeper: withGatekeeper})
	tr.Start(t)
	outside := testenv.StartHomeserver(t, testenv.HomeserverOptions{IP: "127.0.0.13"})
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	bob := tr.HS.RegisterUser(t, "bob", false)
	mallory := outside.RegisterUser(t, "mallory", false)
	if withGatekeeper && alice.HomeserverURL.String() != tr.Gatekeeper.URL {
		t.Fatalf("alice's client talks to %s, not the gatekeeper at %s", alice.HomeserverURL, tr.Gatekeeper.URL)
	}
	refused := func(err error, words string) {
		t.Helper()
		if !withGatekeeper {
			if err != nil {
				t.Fatalf("without the gatekeeper Dendrite refused: %v", err)
			}
			return
		}
		var httpErr mautrix.HTTPError
		if !errors.As(err, &httpErr) || httpErr.RespError == nil || httpErr.RespError.StatusCode != 403 ||
			httpErr.RespError.ErrCode != "M_FORBIDDEN" || !strings.Contains(httpErr.RespError.Err, words) {
			t.Fatalf("through the gatekeeper: %v; want 403 M_FORBIDDEN saying %q", err, words)
		}
	}
	clinical := tr.ClinicalRoom(t, alice, bob)

	t.Run("an outsider invited into a clinical room", func(t *testing.T) {
		watch := watchSync(t, mallory)
		_, err := alice.InviteUser(ctx, clinical, &mautrix.ReqInviteUser{UserID: mallory.UserID})
		refused(err, "personal accounts or belong to an organisation outside this federation")
		if withGatekeeper {
			// The outsider's server never hears of the room: a message
			// alice sends mallory in a room of their own arrives, the
			// invitation never did.
			control, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{mallory.UserID}})
			if err != nil {
				t.Fatal(err)
			}
			watch.waitFor(t, control.RoomID.String(), 30*time.Second)
			if watch.saw(clinical.String()) {
				t.Fatal("the outsider's homeserver received the clinical room's invitation")
			}
			if m := testenv.MembershipOf(t, alice, clinical, mallory.UserID); m != "" {
				t.Fatalf("the outsider's membership in Dendrite: %q; want none", m)
			}
			if n := testutil.ToFloat64(tr.Gatekeeper.Metrics.Refusals.WithLabelValues(gatekeeper.EndpointClientInvite, policy.GateOutsideServer)); n != 1 {
				t.Errorf("outside_server invite refusals counted %v, want 1", n)
			}
			return
		}
		// Without it the invitation reaches the outsider's server, and the
		// bot revokes it.
		watch.waitFor(t, clinical.String(), 30*time.Second)
		waitGone(t, alice, clinical, mallory.UserID, 30*time.Second)
	})

	t.Run("an NHS number in a social room", func(t *testing.T) {
		social := testenv.RoomWithBot(t, alice, bot, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{bob.UserID}})
		testenv.SetPower(t, alice, social, bot, 50)
		testenv.Say(t, alice, social, "!policy classify social")
		testenv.WaitForNotice(t, alice, social, bot, "social")
		if _, err := bob.JoinRoomByID(ctx, social); err != nil {
			t.Fatal(err)
		}
		// No wait: the bot classified the room through Dendrite, not the
		// gatekeeper, and the gatekeeper never remembers a room as not
		// clinical, so the new class counts from the next message.
		watch := watchSync(t, bob)
		sent, err := alice.SendMessageEvent(ctx, social, event.EventMessage, map[string]any{"msgtype": "m.text", "body": nhsInSocial})
		refused(err, "social room")
		// A message after it reaches bob: everything before it has too.
		testenv.SendText(t, alice, social, "Tea at 3 in the staff room")
		watch.waitFor(t, "Tea at 3 in the staff room", 30*time.Second)
		if withGatekeeper {
			if watch.saw("943 476 5919") {
				t.Fatal("the NHS number reached bob's /sync through the gatekeeper")
			}
			return
		}
		if !watch.saw("943 476 5919") {
			t.Fatal("without the gatekeeper the NHS number never reached bob's /sync: the scenario shows nothing")
		}
		waitRedacted(t, alice, social, 30*time.Second, sent.EventID)
	})

	t.Run("a clinical room made public", func(t *testing.T) {
		before := stateEventID(t, alice, clinical, "m.room.join_rules")
		_, err := alice.SendStateEvent(ctx, clinical, event.StateJoinRules, "", map[string]any{"join_rule": "public"})
		refused(err, "clinical room")
		if withGatekeeper {
			if after := stateEventID(t, alice, clinical, "m.room.join_rules"); after != before {
				t.Fatalf("the join rule event changed (%s → %s) though the gatekeeper refused", before, after)
			}
			return
		}
		testenv.Eventually(t, 30*time.Second, "the bot to set the join rule back", func() (bool, string) {
			var jr struct {
				JoinRule string `json:"join_rule"`
			}
			err := alice.StateEvent(ctx, clinical, event.StateJoinRules, "", &jr)
			return err == nil && jr.JoinRule == "invite" && stateSender(t, alice, clinical, "m.room.join_rules") == bot, fmt.Sprint(jr, err)
		})
	})
}

// stateEventID is the ID of a room's current state event of a type.
func stateEventID(t *testing.T, cli *mautrix.Client, room id.RoomID, evtType string) id.EventID {
	t.Helper()
	return currentState(t, cli, room, evtType).ID
}

func stateSender(t *testing.T, cli *mautrix.Client, room id.RoomID, evtType string) id.UserID {
	t.Helper()
	return currentState(t, cli, room, evtType).Sender
}

func currentState(t *testing.T, cli *mautrix.Client, room id.RoomID, evtType string) *event.Event {
	t.Helper()
	state, err := cli.State(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	ev := state[event.Type{Type: evtType, Class: event.StateEventType}][""]
	if ev == nil {
		t.Fatalf("no %s in %s", evtType, room)
	}
	return ev
}

// syncWatch long-polls a user's /sync (at the client's homeserver URL)
// from now on and keeps every answer, to say what reached the user.
type syncWatch struct {
	mu   sync.Mutex
	seen strings.Builder
}

func watchSync(t *testing.T, cli *mautrix.Client) *syncWatch {
	t.Helper()
	w := &syncWatch{}
	since := w.poll(t, cli, "", 0)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if next := w.poll(nil, cli, since, 1000); next != "" {
				since = next
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return w
}

// poll is one /sync; t nil: errors are retried by the caller.
func (w *syncWatch) poll(t *testing.T, cli *mautrix.Client, since string, timeoutMS int) string {
	u := cli.HomeserverURL.String() + "/_matrix/client/v3/sync?timeout=" + fmt.Sprint(timeoutMS)
	if since != "" {
		u += "&since=" + url.QueryEscape(since)
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+cli.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if t != nil {
			t.Fatalf("/sync: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var s struct {
		NextBatch string `json:"next_batch"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &s) != nil {
		if t != nil {
			t.Fatalf("/sync: %d %s", resp.StatusCode, body)
		}
		time.Sleep(200 * time.Millisecond)
		return ""
	}
	if since != "" {
		w.mu.Lock()
		w.seen.Write(body)
		w.mu.Unlock()
	}
	return s.NextBatch
}

func (w *syncWatch) saw(text string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Contains(w.seen.String(), text)
}

func (w *syncWatch) waitFor(t *testing.T, text string, within time.Duration) {
	t.Helper()
	testenv.Eventually(t, within, fmt.Sprintf("%q in the /sync", text), func() (bool, string) { return w.saw(text), "" })
}
