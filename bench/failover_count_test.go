package bench_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// failoverHistory is what a room's whole history shows of the bot's work.
type failoverHistory struct {
	notices   map[id.UserID]int // the bot's notices naming each user
	texts     map[id.UserID][]string
	removals  map[id.UserID]int // leave events for each user sent by someone else (the bot)
	drifts    int               // join rule opened by alice
	repairs   int               // join rule set back by the bot
	redacted  int               // redactions by the bot
	botEvents int
}

// readHistory pages through a room's whole history, newest first.
func readHistory(t *testing.T, cli *mautrix.Client, room id.RoomID, bot id.UserID, users []id.UserID) failoverHistory {
	t.Helper()
	h := failoverHistory{notices: map[id.UserID]int{}, removals: map[id.UserID]int{}, texts: map[id.UserID][]string{}}
	from := ""
	for {
		resp, err := cli.Messages(ctx, room, from, "", mautrix.DirectionBackward, nil, 500)
		if err != nil {
			t.Fatalf("read history of %s: %v", room, err)
		}
		for _, evt := range resp.Chunk {
			h.add(evt, bot, users)
		}
		if len(resp.Chunk) == 0 || resp.End == "" || resp.End == from {
			return h
		}
		from = resp.End
	}
}

func (h *failoverHistory) add(evt *event.Event, bot id.UserID, users []id.UserID) {
	_ = evt.Content.ParseRaw(evt.Type)
	if evt.Sender == bot {
		h.botEvents++
	}
	switch evt.Type {
	case event.EventMessage:
		if evt.Sender != bot {
			return
		}
		for _, u := range users {
			if strings.Contains(evt.Content.AsMessage().Body, u.String()) {
				h.notices[u]++
				h.texts[u] = append(h.texts[u], fmt.Sprintf("%s at %d: %q", evt.ID, evt.Timestamp, evt.Content.AsMessage().Body))
			}
		}
	case event.StateMember:
		if evt.Content.AsMember().Membership == event.MembershipLeave && evt.Sender.String() != evt.GetStateKey() {
			h.removals[id.UserID(evt.GetStateKey())]++
		}
	case event.StateJoinRules:
		if evt.Sender == bot {
			h.repairs++
		} else if evt.Content.AsJoinRules().JoinRule == event.JoinRulePublic {
			h.drifts++
		}
	case event.EventRedaction:
		if evt.Sender == bot {
			h.redacted++
		}
	}
}

// settleAndCount waits for the last actions, then counts what was lost
// (an outsider still in, a room left open) and what was doubled (more than
// one notice or removal per outsider, more repairs than drifts).
func settleAndCount(t *testing.T, tr *trust.Trust, alice *mautrix.Client, rooms []id.RoomID, gen *traffic) (lost, doubled int) {
	t.Helper()
	out := map[id.RoomID][]id.UserID{}
	for r, us := range gen.outsiders {
		out[r] = us
	}
	deadline := time.Now().Add(2 * time.Minute)
	settled := func() (bool, string) {
		for _, r := range rooms {
			for _, u := range out[r] {
				if m := testenv.MembershipOf(t, alice, r, u); m != "leave" {
					return false, fmt.Sprintf("%s in %s: %s", u, r, m)
				}
			}
			var jr struct {
				JoinRule string `json:"join_rule"`
			}
			if err := alice.StateEvent(ctx, r, event.StateJoinRules, "", &jr); err != nil || jr.JoinRule != "invite" {
				return false, fmt.Sprintf("%s join rule %q (%v)", r, jr.JoinRule, err)
			}
		}
		return true, ""
	}
	for ok, why := settled(); !ok; ok, why = settled() {
		if time.Now().After(deadline) {
			t.Logf("not settled after two minutes: %s", why)
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(5 * time.Second) // every chance for a repeat to show before counting
	for _, r := range rooms {
		users := out[r]
		h := readHistory(t, alice, r, tr.BotID(), users)
		for _, u := range users {
			if m := testenv.MembershipOf(t, alice, r, u); m != "leave" {
				lost++
				t.Errorf("lost: %s is %q in %s", u, m, r)
			}
			if h.notices[u] != 1 || h.removals[u] != 1 {
				t.Errorf("%s in %s: %d notices, %d removals; want one each: %s", u, r, h.notices[u], h.removals[u], strings.Join(h.texts[u], "; "))
				doubled += max(h.notices[u]-1, 0) + max(h.removals[u]-1, 0)
				lost += boolInt(h.notices[u] == 0) + boolInt(h.removals[u] == 0)
			}
		}
		if h.repairs != h.drifts {
			t.Errorf("%s: %d drifts, %d repairs", r, h.drifts, h.repairs)
			doubled += max(h.repairs-h.drifts, 0)
			lost += max(h.drifts-h.repairs, 0)
		}
		if h.redacted != 0 {
			t.Errorf("%s: %d redactions by the bot, want none", r, h.redacted)
			doubled += h.redacted
		}
		t.Logf("%s: %d outsiders, %d drifts, %d repairs, %d bot events", r, len(users), h.drifts, h.repairs, h.botEvents)
	}
	return lost, doubled
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func writeResults(t *testing.T, res any) {
	t.Helper()
	if path := *flagResultsPath; path != "" {
		data, _ := json.Marshal(res)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
