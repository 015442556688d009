package intake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"

	"github.com/caldicott/caldicott/store"
)

const (
	fuzzBot     = "@caldicott:trust-a"
	fuzzHSToken = "hs-token-fuzz"
)

// FuzzTransaction PUTs any body to the transaction endpoint, in front of a
// real SQLite store, and checks what intake does with it: the answer is 200,
// 400 or 413 with a Matrix error; a refused transaction stores nothing; and
// every event stored has an ID, a room and a type, which the worker reads
// the same way when it decodes the event, of a namespace a rule reads, and
// not the bot's own echo.
func FuzzTransaction(f *testing.F) {
	for _, s := range []string{
		`{"events":[{"event_id":"$1","room_id":"!r:trust-a","type":"m.room.member","sender":"@a:trust-b","state_key":"@a:trust-b","content":{"membership":"join"},"origin_server_ts":1}]}`,
		`{"events":[{"event_id":"$2","room_id":"!r:trust-a","type":"m.room.message","sender":"@caldicott:trust-a","content":{"msgtype":"m.notice","body":"hi"}}]}`,
		`{"events":[{"event_id":"$3","room_id":"!r:trust-a","type":"com.example.custom","sender":"@a:trust-a","content":{}}]}`,
		`{"events":[{"event_id":"$4","room_id":"!r:trust-a","type":"m.policy.rule.server","sender":"@ig:trust-a","state_key":"rule:x","content":{"entity":"evil.example","recommendation":"m.ban"}}]}`,
		`{"events":[{"event_id":"$5","type":"m.room.member"}]}`,
		`{"events":[null]}`,
		`{"events":[], "ephemeral":[]}`,
		`{"events":[{"event_id":"$6","room_id":"!r:trust-a","type":"m.room.message","sender":"@a:trust-a","content":"not an object"}]}`,
		`[`,
	} {
		f.Add([]byte(s))
	}
	st, err := store.Open(f.Context(), store.SQLite, filepath.Join(f.TempDir(), "c.db"), 2)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	counters := Counters{
		Transactions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t"}, []string{"outcome"}),
		Events:       prometheus.NewCounter(prometheus.CounterOpts{Name: "e"}),
		Ignored:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "i"}, []string{"reason"}),
	}
	in := New(st, fuzzBot, fuzzHSToken, 64<<10, counters, func() {}, zerolog.Nop())
	router := chi.NewRouter()
	router.Put("/_matrix/app/v1/transactions/{txnID}", in.ServeHTTP)
	txn := 0

	f.Fuzz(func(t *testing.T, body []byte) {
		txn++
		req := httptest.NewRequest(http.MethodPut, fmt.Sprintf("/_matrix/app/v1/transactions/fuzz-%d", txn), strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+fuzzHSToken)
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)

		stored, err := st.PendingEvents(t.Context(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range stored {
			if err := st.MarkEventDone(t.Context(), ev.Seq); err != nil {
				t.Fatal(err)
			}
		}
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			var e struct{ Errcode, Error string }
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || !strings.HasPrefix(e.Errcode, "M_") || e.Error == "" {
				t.Fatalf("%d without a Matrix error: %s", rec.Code, rec.Body)
			}
			if len(stored) > 0 {
				t.Fatalf("refused (%d %s), yet %d events stored", rec.Code, rec.Body, len(stored))
			}
			return
		default:
			t.Fatalf("answered %d %s", rec.Code, rec.Body)
		}
		for _, ev := range stored {
			if ev.EventID == "" || ev.RoomID == "" || ev.Type == "" {
				t.Fatalf("stored %s as %q %q %q", ev.JSON, ev.EventID, ev.RoomID, ev.Type)
			}
			if !knownNamespace(ev.Type) {
				t.Fatalf("stored an event of type %q, which no rule reads", ev.Type)
			}
			var evt event.Event
			if err := json.Unmarshal(ev.JSON, &evt); err != nil {
				// The header is whole but another field is not what the
				// Matrix types say (content not an object, say): intake,
				// which may not import mautrix, stores it, and the worker
				// counts it as unparseable and skips it. Refusing the
				// transaction instead would stop Dendrite's delivery, which
				// retries a refused transaction for ever.
				continue
			}
			if evt.ID.String() != ev.EventID || evt.RoomID.String() != ev.RoomID || evt.Type.Type != ev.Type {
				t.Fatalf("stored %s as %q %q %q; the worker reads %q %q %q", ev.JSON, ev.EventID, ev.RoomID, ev.Type, evt.ID, evt.RoomID, evt.Type.Type)
			}
			if evt.Sender.String() == fuzzBot && evt.StateKey == nil && ownEchoTypes[ev.Type] {
				t.Fatalf("stored the bot's own echo %s", ev.JSON)
			}
		}
	})
}
