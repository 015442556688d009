package appservice

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

const testHSToken = "hs-token-0123456789abcdef0123456789abcdef"

// newOfflineService is a Service whose homeserver is unreachable (a closed
// port), for testing intake and retry without one.
func newOfflineService(t testing.TB, engine, uri string) *Service {
	t.Helper()
	port := testenv.FreePort(t, "127.0.0.1")
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
homeserver: {address: "http://127.0.0.1:%d", domain: "trust-a.example"}
appservice: {address: "http://127.0.0.1:29330", as_token: "as-token-0123456789abcdef0123456789abcdef", hs_token: %q, max_transaction_bytes: 65536}
trust: {name: "Trust A"}
`, port, testHSToken)))
	if err != nil {
		t.Fatal(err)
	}
	if uri == "" {
		uri = filepath.Join(t.TempDir(), "caldicott.db")
	}
	st, err := store.Open(context.Background(), engine, uri, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := New(cfg, st, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func put(t testing.TB, srv *httptest.Server, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func ev(id, typ string) string {
	return fmt.Sprintf(`{"event_id":%q,"room_id":"!r:trust-a.example","type":%q,"sender":"@a:trust-a.example","state_key":"","content":{}}`, id, typ)
}

// evFrom is an event by sender; a message event when not state.
func evFrom(id, typ, sender string, state bool) string {
	stateKey := ""
	if state {
		stateKey = `"state_key":"",`
	}
	return fmt.Sprintf(`{"event_id":%q,"room_id":"!r:trust-a.example","type":%q,"sender":%q,%s"content":{}}`, id, typ, sender, stateKey)
}

const offlineBot = "@caldicott:trust-a.example"

func txn(events ...string) string { return `{"events":[` + strings.Join(events, ",") + `]}` }

func pending(t *testing.T, s *Service) []store.InboxEvent {
	t.Helper()
	p, err := s.Store.PendingEvents(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTransactionIntake(t *testing.T) {
	s := newOfflineService(t, store.SQLite, "")
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	path := "/_matrix/app/v1/transactions/"

	tests := []struct {
		name      string
		txnID     string
		token     string
		body      string
		wantCode  int
		wantBody  string
		wantTotal int // pending events after the request
	}{
		{"no token", "t1", "", txn(ev("$1", "m.room.name")), 401, "M_MISSING_TOKEN", 0},
		{"wrong token", "t1", "wrong-token", txn(ev("$1", "m.room.name")), 403, "M_FORBIDDEN", 0},
		{"not JSON", "t1", testHSToken, `{"events":[`, 400, "not valid JSON", 0},
		{"event without ID", "t1", testHSToken, txn(ev("$1", "m.room.name"), `{"room_id":"!r:x","type":"m.room.name"}`), 400, "event 1 has no event_id", 0},
		{"event not an object", "t1", testHSToken, `{"events":[42]}`, 400, "event 0 is not a JSON object", 0},
		{"event without room", "t1", testHSToken, txn(`{"event_id":"$x","type":"m.room.name"}`), 400, "has no room_id", 0},
		{"valid", "t1", testHSToken, txn(ev("$1", "m.room.name"), ev("$2", "m.room.join_rules")), 200, "{}", 2},
		{"retry of the same transaction", "t1", testHSToken, txn(ev("$1", "m.room.name"), ev("$2", "m.room.join_rules")), 200, "{}", 2},
		{"unknown type ignored", "t2", testHSToken, txn(ev("$3", "com.example.custom"), ev("$4", "m.room.topic")), 200, "{}", 3},
		{"too large", "t3", testHSToken, txn(ev("$5", "m.room.topic"), `{"pad":"`+strings.Repeat("x", 70000)+`"}`), 413, "M_TOO_LARGE", 3},
		{"empty transaction", "t4", testHSToken, `{"events":[]}`, 200, "{}", 3},
		{"the bot's own echoes not stored, its state changes and others' redactions are", "t6", testHSToken, txn(
			evFrom("$7", "m.room.redaction", offlineBot, false), evFrom("$8", "m.room.message", offlineBot, false), evFrom("$9", "m.reaction", offlineBot, false),
			evFrom("$10", "m.room.power_levels", offlineBot, true), evFrom("$11", "m.room.redaction", "@a:trust-a.example", false)), 200, "{}", 5},
		{"only the bot's echoes: answered, nothing stored", "t7", testHSToken, txn(evFrom("$12", "m.room.redaction", offlineBot, false)), 200, "{}", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			heardBefore := s.verification.LastRoomEvent()
			code, body := put(t, srv, path+tt.txnID, tt.token, tt.body)
			// Any authentic transaction with events in it, the bot's own
			// echoes included, tells the device-list sync the rooms are busy.
			heard := s.verification.LastRoomEvent().After(heardBefore)
			if want := code != 401 && code != 403 && code != 413 && !strings.Contains(tt.body, `"events":[]`) && tt.body != `{"events":[`; heard != want {
				t.Errorf("room activity noted: %v, want %v", heard, want)
			}
			if code != tt.wantCode || !strings.Contains(body, tt.wantBody) {
				t.Fatalf("got %d %s, want %d containing %q", code, body, tt.wantCode, tt.wantBody)
			}
			if n := len(pending(t, s)); n != tt.wantTotal {
				t.Fatalf("pending events = %d, want %d", n, tt.wantTotal)
			}
		})
	}
	if got := testutil.ToFloat64(s.metrics.EventsIgnored.WithLabelValues("unknown_type")); got != 1 {
		t.Errorf("unknown-type counter = %v, want 1", got)
	}
	if got := testutil.ToFloat64(s.metrics.EventsIgnored.WithLabelValues("own_echo")); got != 4 {
		t.Errorf("own-echo counter = %v, want 4", got)
	}
	if got := testutil.ToFloat64(s.metrics.TxnsReceived.WithLabelValues("nothing_to_store")); got != 1 {
		t.Errorf("nothing-to-store counter = %v, want 1", got)
	}
	if got := testutil.ToFloat64(s.metrics.TxnsReceived.WithLabelValues("duplicate")); got != 1 {
		t.Errorf("duplicate counter = %v, want 1", got)
	}

	t.Run("legacy path and query token", func(t *testing.T) {
		code, _ := put(t, srv, "/transactions/t5?access_token="+testHSToken, "", txn(ev("$6", "m.room.topic")))
		if code != 200 {
			t.Fatalf("legacy transaction answered %d", code)
		}
	})
	t.Run("mautrix endpoints still served", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/_matrix/app/v1/users/@someone:trust-a.example", nil)
		req.Header.Set("Authorization", "Bearer "+testHSToken)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), "errcode") {
			t.Fatalf("user query not handled by mautrix: %d %s", resp.StatusCode, b)
		}
	})
	t.Run("metrics exposed without identifiers", func(t *testing.T) {
		resp, err := srv.Client().Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `caldicott_events_ignored_total{reason="unknown_type"} 1`) {
			t.Fatalf("metrics:\n%s", b)
		}
		if strings.Contains(string(b), "trust-a.example") {
			t.Fatal("metrics contain room or user identifiers")
		}
	})
}

// While the homeserver is away, an event stays stored, its attempts are
// counted, and it is not marked handled: nothing is lost.
func TestHomeserverUnreachableLosesNothing(t *testing.T) {
	s := newOfflineService(t, store.SQLite, "")
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	if code, body := put(t, srv, "/_matrix/app/v1/transactions/x", testHSToken, txn(ev("$drift", "m.room.join_rules"))); code != 200 {
		t.Fatalf("intake: %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	s.dispatchInbox(ctx)
	s.lanes.Wait()
	p := pending(t, s)
	if len(p) != 1 || p[0].EventID != "$drift" {
		t.Fatalf("event lost while the homeserver was down: %+v", p)
	}
	if p[0].Attempts < 2 {
		t.Errorf("attempts = %d; want retries with backoff (1s, 2s)", p[0].Attempts)
	}
	if got := testutil.ToFloat64(s.metrics.HandleRetries); got < 2 {
		t.Errorf("retry counter = %v", got)
	}
}
