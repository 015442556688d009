package executor

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/caldicott/caldicott/store"
)

// A redaction whose sender was killed while it was on the way: the
// homeserver stored it but never answered, so the action stayed pending
// and Dendrite, which drops a repeated transaction ID only once it has
// answered, would take the replay for a new redaction. The next leader's
// replay reads the event first and does not redact what is redacted; an
// event still whole is redacted once.
func TestResumedRedactionNotSentTwice(t *testing.T) {
	const room, target = "!ward:x", "$expired"
	for _, done := range []bool{true, false} {
		t.Run(fmt.Sprintf("already redacted %v", done), func(t *testing.T) {
			var mu sync.Mutex
			var redactions []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch {
				case r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/event/"):
					unsigned := `{}`
					content := `{"msgtype":"m.text","body":"obs round 3"}`
					if done {
						unsigned = fmt.Sprintf(`{"redacted_because":{"type":"m.room.redaction","event_id":"$r","sender":"@caldicott:x","room_id":%q,"redacts":%q,"content":{}}}`, room, target)
						content = `{}`
					}
					_, _ = fmt.Fprintf(w, `{"type":"m.room.message","event_id":%q,"sender":"@alice:x","room_id":%q,"content":%s,"unsigned":%s}`, target, room, content, unsigned)
				case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/redact/"):
					mu.Lock()
					redactions = append(redactions, r.URL.Path)
					mu.Unlock()
					_, _ = w.Write([]byte(`{"event_id":"$r2"}`))
				default:
					w.WriteHeader(http.StatusNotFound)
					_, _ = w.Write([]byte(`{"errcode":"M_UNRECOGNIZED"}`))
				}
			}))
			defer srv.Close()
			e, st := againstFake(t, srv.URL)
			action, _ := json.Marshal(map[string]any{"Kind": "redact", "Rule": "retention", "EventID": target, "Text": "delete an expired message"})
			replayLogged(t, e, st, store.LoggedAction{TxnID: "calresumedredact1", RoomID: room, Actor: "@caldicott:x", JSON: action})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case done && len(redactions) != 0:
				t.Fatalf("an event the homeserver shows redacted was redacted again: %q", redactions)
			case !done && len(redactions) != 1:
				t.Fatalf("%d redactions of an event still whole; want one", len(redactions))
			}
		})
	}
}
