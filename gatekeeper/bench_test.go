package gatekeeper

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// Added latency of the gatekeeper on loopback, side by side with the
// direct path to the same upstream, in one run:
//
//	go test -tags goolm ./gatekeeper -run '^$' -bench . -benchtime 20000x
//
// Each reports the mean (ns/op) and the p50 and p99 of single requests.
func BenchmarkPassthrough(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"next_batch":"s1_2_3","rooms":{}}`))
	}))
	defer up.Close()
	g, _ := startGatekeeper(b, up.URL)
	sync := "/_matrix/client/v3/sync?timeout=0&since=s1"
	send := "/_matrix/client/v3/rooms/" + clinicalRoom + "/send/m.room.encrypted/t1"
	for _, c := range []struct{ name, base, method, path string }{
		{"sync/direct", up.URL, "GET", sync},
		{"sync/gatekeeper", g, "GET", sync},
		{"send-encrypted/direct", up.URL, "PUT", send},
		{"send-encrypted/gatekeeper", g, "PUT", send},
	} {
		b.Run(c.name, func(b *testing.B) {
			measure(b, c.method, c.base+c.path, []byte(`{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"AwgAEn..."}`))
		})
	}
}

// A judged invite: the body read, the rules run, the room's class (cached
// after the first) consulted, then passed on.
func BenchmarkJudgedInvite(b *testing.B) {
	up := &upstream{rooms: rooms}
	srv := httptest.NewServer(up)
	defer srv.Close()
	g, _ := startGatekeeper(b, srv.URL)
	invite := "/_matrix/client/v3/rooms/" + socialRoom + "/invite"
	body := []byte(`{"user_id":"@alice:matrix.org"}`)
	b.Run("direct", func(b *testing.B) { measure(b, "POST", srv.URL+invite, body) })
	b.Run("gatekeeper", func(b *testing.B) { measure(b, "POST", g+invite, body) })
	b.Run("gatekeeper-refused", func(b *testing.B) {
		measure(b, "POST", g+"/_matrix/client/v3/rooms/"+clinicalRoom+"/invite", body)
	})
}

// measure sends b.N requests one after another and reports the p50 and p99.
func measure(b *testing.B, method, url string, body []byte) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer alice-token")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}
