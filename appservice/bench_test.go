package appservice

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
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
