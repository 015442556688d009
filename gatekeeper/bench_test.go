package gatekeeper

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/internal/testenv"
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
	measureAs(b, method, func() string { return url }, body, "alice-token")
}

// measureAs is measure with a URL per request (transaction IDs) and a
// token. With names, requests alternate between len(names) paths (url
// decides which, in turn) and each gets its own p50 and p99.
func measureAs(b *testing.B, method string, url func() string, body []byte, token string, names ...string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		req, _ := http.NewRequest(method, url(), bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	if len(names) == 0 {
		report(b, took, "")
		return
	}
	for k, name := range names {
		var mine []time.Duration
		for i := k; i < len(took); i += len(names) {
			mine = append(mine, took[i])
		}
		report(b, mine, name+"-")
	}
}

func report(b *testing.B, took []time.Duration, prefix string) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), prefix+"p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), prefix+"p99-µs")
}

// The same side by side on a real Dendrite: a /sync that returns at once
// and an encrypted-event /send, as a clinician's client makes them. Direct
// and gatekeeper requests alternate, so both meet the room as it grows.
//
//	go test -tags goolm ./gatekeeper -run '^$' -bench OnDendrite -benchtime 2000x
func BenchmarkPassthroughOnDendrite(b *testing.B) {
	hs := testenv.StartHomeserver(b, testenv.HomeserverOptions{IP: "127.0.0.11"})
	gk, _ := startGatekeeper(b, hs.URL, func(s *Settings) { s.Rules.OwnServer = hs.ServerName })
	alice := hs.RegisterUser(b, "alice", false)
	room, err := alice.CreateRoom(context.Background(), &mautrix.ReqCreateRoom{Preset: "private_chat"})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"AwgAEn...","device_id":"D","sender_key":"k","session_id":"s"}`)
	txn := 0
	send := "/_matrix/client/v3/rooms/" + room.RoomID.String() + "/send/m.room.encrypted/"
	for _, c := range []struct{ name, method, path string }{
		{"sync", "GET", "/_matrix/client/v3/sync?timeout=0"},
		{"send-encrypted", "PUT", send},
	} {
		b.Run(c.name, func(b *testing.B) {
			url := func(base string) func() string {
				return func() string {
					if c.method == "PUT" {
						txn++
						return base + c.path + "b" + strconv.Itoa(txn)
					}
					return base + c.path
				}
			}
			direct, through := url(hs.URL), url(gk)
			i := 0
			measureAs(b, c.method, func() string {
				i++ // 1, 2, 3…: direct first, then the gatekeeper, in turn
				if i%2 == 1 {
					return direct()
				}
				return through()
			}, body, alice.AccessToken, "direct", "gatekeeper")
		})
	}
}
