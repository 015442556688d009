package bench_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv/trust"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// fillRun is how one room's history was written.
type fillRun struct {
	Room    id.RoomID `json:"room"`
	Events  int       `json:"events"`
	Texts   int       `json:"texts"`
	Reacts  int       `json:"reactions"`
	Edits   int       `json:"edits"`
	Senders int       `json:"senders"`
	Secs    float64   `json:"secs"`
}

// fillRoom has each sender write its share of n events into room, all
// senders at once, each one event after another: mostly text messages,
// one in ten a reaction to the sender's previous message and one in ten an
// edit of it — the kinds of content a ward's chat holds. With keepIDs, the
// event IDs are returned in the order the homeserver accepted them.
func fillRoom(t *testing.T, room id.RoomID, senders []*mautrix.Client, n int, keepIDs bool) (fillRun, []id.EventID) {
	t.Helper()
	run := fillRun{Room: room, Events: n, Senders: len(senders)}
	var (
		mu             sync.Mutex
		ids            []id.EventID
		next, done     atomic.Int64
		texts, reacts  atomic.Int64
		edits          atomic.Int64
		wg             sync.WaitGroup
		firstErr       error
		began, lastLog = time.Now(), time.Now()
	)
	for s, cli := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last id.EventID // this sender's latest text message
			for k := 0; ; k++ {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				var content any
				evtType := event.EventMessage
				switch {
				case last != "" && k%10 == 3:
					evtType = event.EventReaction
					content = map[string]any{"m.relates_to": map[string]any{"rel_type": "m.annotation", "event_id": last, "key": "👍"}}
					reacts.Add(1)
				case last != "" && k%10 == 7:
					body := fmt.Sprintf("Bed %d obs stable, NEWS %d (corrected)", i%28+1, i%5)
					content = map[string]any{"msgtype": "m.text", "body": "* " + body,
						"m.new_content": map[string]any{"msgtype": "m.text", "body": body},
						"m.relates_to":  map[string]any{"rel_type": "m.replace", "event_id": last}}
					edits.Add(1)
				default:
					content = &event.MessageEventContent{MsgType: event.MsgText,
						Body: fmt.Sprintf("Bed %d: BP %d/%d, HR %d, NEWS %d. Handover note %d from sender %d.", i%28+1, 110+i%40, 70+i%20, 60+i%40, i%5, i, s)}
					texts.Add(1)
				}
				resp, err := cli.SendMessageEvent(ctx, room, evtType, content)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s sends event %d to %s: %w", cli.UserID, i, room, err)
					}
					mu.Unlock()
					next.Store(int64(n)) // the others stop too
					return
				}
				if evtType == event.EventMessage && k%10 != 7 {
					last = resp.EventID
				}
				if keepIDs {
					mu.Lock()
					ids = append(ids, resp.EventID)
					mu.Unlock()
				}
				if d := done.Add(1); d%5000 == 0 {
					mu.Lock()
					if time.Since(lastLog) > 10*time.Second {
						t.Logf("%s: %d/%d events after %s", room, d, n, time.Since(began).Round(time.Second))
						lastLog = time.Now()
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	run.Secs = time.Since(began).Seconds()
	run.Texts, run.Reacts, run.Edits = int(texts.Load()), int(reacts.Load()), int(edits.Load())
	t.Logf("%s: %d events (%d texts, %d reactions, %d edits) from %d senders in %.0f s (%.0f events/s)",
		room, n, run.Texts, run.Reacts, run.Edits, len(senders), run.Secs, float64(n)/run.Secs)
	return run, ids
}

// waitForInboxDrained waits until Caldicott has handled every event the
// homeserver sent it (filling a room sends it every event), so that a
// measurement does not include that backlog.
func waitForInboxDrained(t *testing.T, tr *trust.Trust, within time.Duration) {
	t.Helper()
	began := time.Now()
	for {
		pending, err := tr.Store.PendingEventsAfter(ctx, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) == 0 {
			if time.Since(began) > 5*time.Second {
				t.Logf("Caldicott's inbox drained after %s", time.Since(began).Round(time.Second))
			}
			return
		}
		if time.Since(began) > within {
			t.Logf("Caldicott's inbox still has events after %s; measuring anyway", within)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// muteRoom sets a room push rule that makes the room's messages notify
// cli's user of nothing.
//
// The rooms to be filled are muted for every member, the bot included,
// before anyone writes. A member who reads her messages clears Dendrite's
// notifications; these test clients never read, and the bot never does
// (see docs/benchmarks.md). Dendrite then keeps an unread notification per
// member per message and, for every new message, counts each member's
// unread notifications again (userapi notifyLocal: COUNT(*) over the
// member's notifications in the room, and over all of them); writing
// 30,000 messages in twenty minutes left it a core busy for more than ten
// minutes afterwards, during what was meant to be idle. Call it for one
// user at a time: Dendrite keeps a user's push rules in one account-data
// document, and two rules put at once lose one (seen: a member muted in
// one of two rooms filled together got 2,000 notifications).
func muteRoom(t *testing.T, cli *mautrix.Client, room id.RoomID) {
	t.Helper()
	url := cli.BuildClientURL("v3", "pushrules", "global", "room", room)
	if _, err := cli.MakeRequest(ctx, http.MethodPut, url, map[string]any{"actions": []string{"dont_notify"}}, nil); err != nil {
		t.Fatalf("%s mutes %s: %v", cli.UserID, room, err)
	}
}

// dendriteNotifications counts, per local user, the notifications
// Dendrite keeps (its userapi database; read once Dendrite has stopped).
func dendriteNotifications(t *testing.T, tr *trust.Trust) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(tr.HS.Dir, "dendrite_userapi.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT localpart, COUNT(*) FROM userapi_notifications GROUP BY localpart`)
	if err != nil {
		t.Logf("count Dendrite's notifications: %v", err)
		return nil
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var who string
		var n int
		if err := rows.Scan(&who, &n); err != nil {
			t.Fatal(err)
		}
		out[who] = n
	}
	return out
}
