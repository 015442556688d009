package bench_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/appservice"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
	"github.com/rs/zerolog"
)

// BenchmarkIntake measures transactions through the real HTTP endpoint with
// persistence, 50 events each (Dendrite's maximum). Target: ≥ 5,000 events/s
// on SQLite.
func BenchmarkIntake(b *testing.B) {
	for _, engine := range []string{store.SQLite, store.Postgres} {
		b.Run(engine, func(b *testing.B) {
			uri := ""
			if engine == store.Postgres {
				uri = testenv.Postgres(b)
			}
			s := newOfflineService(b, engine, uri)
			srv := httptest.NewServer(s.Handler())
			defer srv.Close()
			const perTxn = 50
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				events := make([]string, perTxn)
				for j := range events {
					events[j] = fmt.Sprintf(`{"event_id":"$e%d_%d","room_id":"!r:trust-a.example","type":"m.room.message","sender":"@a:trust-a.example","origin_server_ts":1,"content":{"msgtype":"m.text","body":"hello"}}`, i, j)
				}
				req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/_matrix/app/v1/transactions/b%d", srv.URL, i), strings.NewReader(txn(events...)))
				req.Header.Set("Authorization", "Bearer "+testHSToken)
				resp, err := srv.Client().Do(req)
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("transaction %d: %v %v", i, err, resp)
				}
				resp.Body.Close()
			}
			b.ReportMetric(float64(perTxn*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

const testHSToken = "hs-token-0123456789abcdef0123456789abcdef"

// newOfflineService is a Service whose homeserver is unreachable (a closed
// port): intake alone, with persistence.
func newOfflineService(t testing.TB, engine, uri string) *appservice.Service {
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
	s, err := appservice.New(cfg, st, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func txn(events ...string) string { return `{"events":[` + strings.Join(events, ",") + `]}` }
