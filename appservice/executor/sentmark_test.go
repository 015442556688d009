package executor

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caldicott/caldicott/store"
)

// A notice whose sender was killed while it was on the way: the
// homeserver stored it, but never answered, so the action stayed pending.
// The next leader's replay finds the message by its mark among the bot's
// latest and does not post it again; a notice the homeserver never got is
// posted, marked. (Dendrite drops a repeated transaction ID only once it
// has answered the first: found by the failover benchmark, 11 doubled
// notices in 50 failovers.) The homeserver's history lags the send: a
// notice it shows only on the third read is still found (a kill trial
// resumed within milliseconds and posted its notice twice).
func TestResumedNoticeNotSentTwice(t *testing.T) {
	const room = "!ward:x"
	for _, c := range []struct {
		name string
		// shownFrom is the read of the history that first shows the
		// notice; 0: it never does (the homeserver never got it).
		shownFrom int
		// settled: the leader said the last one acted a minute ago (a
		// failover past the lease): one read is enough, no wait.
		settled bool
	}{{"already stored", 1, false}, {"stored, shown late", 3, false}, {"never stored", 0, false}, {"never stored, the last leader gone a minute", 0, true}} {
		stored := c.shownFrom > 0
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			var sent []string
			var txn string
			reads := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch {
				case strings.Contains(r.URL.Path, "/state/m.room.encryption"):
					w.WriteHeader(http.StatusNotFound)
					_, _ = w.Write([]byte(`{"errcode":"M_NOT_FOUND"}`))
				case strings.HasSuffix(r.URL.Path, "/messages"):
					chunk := "[]"
					mu.Lock()
					reads++
					shown := stored && reads >= c.shownFrom
					mu.Unlock()
					if shown {
						chunk = fmt.Sprintf(`[{"type":"m.room.message","event_id":"$old","sender":"@caldicott:x","room_id":%q,"content":{"msgtype":"m.notice","body":"earlier"}},
							{"type":"m.room.message","event_id":"$n","sender":"@caldicott:x","room_id":%q,"content":{"msgtype":"m.notice","body":"I removed @x:evil","org.caldicott.txn":%q}}]`, room, room, txn)
					}
					_, _ = fmt.Fprintf(w, `{"chunk":%s,"start":"s1","end":"s0"}`, chunk)
				case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/send/"):
					body, _ := io.ReadAll(r.Body)
					mu.Lock()
					sent = append(sent, string(body))
					mu.Unlock()
					_, _ = w.Write([]byte(`{"event_id":"$new"}`))
				default:
					w.WriteHeader(http.StatusNotFound)
					_, _ = w.Write([]byte(`{"errcode":"M_UNRECOGNIZED"}`))
				}
			}))
			defer srv.Close()
			e, st := againstFake(t, srv.URL)
			if c.settled {
				e.HistorySettlesAfter(time.Now().Add(-time.Minute))
			}
			txn = "calresumed0001"
			action, _ := json.Marshal(map[string]any{"Kind": "notify_room", "Rule": "notice", "Text": "I removed @x:evil"})
			replayLogged(t, e, st, store.LoggedAction{TxnID: txn, RoomID: room, Actor: "@a:x", JSON: action})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case c.settled && reads != 1:
				t.Fatalf("read the history %d times; the last leader's actions show by now, so once is enough", reads)
			case stored && reads < c.shownFrom:
				t.Fatalf("read the history %d times; the notice shows from read %d", reads, c.shownFrom)
			case stored && len(sent) != 0:
				t.Fatalf("a notice the homeserver already had was sent again: %q", sent)
			case !stored && (len(sent) != 1 || !strings.Contains(sent[0], `"org.caldicott.txn":"`+txn+`"`)):
				t.Fatalf("sent %q; want the notice once, marked with its transaction", sent)
			}
		})
	}
}
