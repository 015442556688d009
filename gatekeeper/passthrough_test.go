package gatekeeper

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// What is not judged streams through untouched: method, path and query as
// written, Host, headers, the body byte for byte, the upstream's answer.
func TestPassthroughIsUntouched(t *testing.T) {
	media := make([]byte, 3<<20) // larger than the judged-body cap
	_, _ = rand.Read(media)
	tests := []struct {
		name, method, path string
		body               []byte
	}{
		{"sync long poll", "GET", "/_matrix/client/v3/sync?timeout=30000&since=s1_2_3&filter=%7B%22room%22%3A%7B%7D%7D", nil},
		{"media upload beyond the cap", "POST", "/_matrix/media/v3/upload?filename=scan.png", media},
		{"keys upload", "POST", "/_matrix/client/v3/keys/upload", []byte(`{"one_time_keys":{}}`)},
		{"invite by GET (Dendrite answers)", "GET", "/_matrix/client/v3/rooms/" + clinicalRoom + "/invite", nil},
		{"encoded path kept encoded", "GET", "/_matrix/client/v3/rooms/%21ward7%3Atrust-a.nhs.uk/state/m.room.name/", nil},
		{"unknown version", "POST", "/_matrix/client/unstable/rooms/" + clinicalRoom + "/invite", []byte(`{"user_id":"@x:matrix.org"}`)},
	}
	g := newRig(t, rooms)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := g.do(t, tt.method, tt.path, tt.body, "X-Forwarded-For", "203.0.113.7", "X-Custom", "kept")
			want := tt.body
			if want == nil {
				want = []byte{}
			}
			g.expect(t, tt.method, tt.path, want, a, 200, "")
			for _, s := range g.up.requests() {
				if s.RequestURI != tt.path {
					continue
				}
				if s.Header.Get("X-Forwarded-For") != "203.0.113.7" || s.Header.Get("X-Custom") != "kept" || s.Header.Get("Authorization") != "Bearer alice-token" {
					t.Errorf("headers changed on the way: %v", s.Header)
				}
				if !bytes.Equal(s.Body, want) {
					t.Errorf("body changed on the way (%d bytes, sent %d)", len(s.Body), len(want))
				}
			}
		})
	}
	if n := g.up.stateReads(); n != 0 {
		t.Errorf("passthrough requests caused %d room-state reads; want none", n)
	}
}

func TestUpstreamDownIsBadGateway(t *testing.T) {
	gk := newRig(t, rooms, func(s *Settings) { s.Upstream.Host = "127.0.0.1:1" })
	a := gk.do(t, http.MethodGet, "/_matrix/client/v3/sync", nil)
	if a.Status != http.StatusBadGateway || a.ErrCode != "M_UNKNOWN" {
		t.Fatalf("got %d %s; want 502 M_UNKNOWN", a.Status, a.ErrCode)
	}
	// And a decision that needs the class fails closed.
	a = gk.do(t, http.MethodPost, "/_matrix/client/v3/rooms/"+clinicalRoom+"/invite", []byte(`{"user_id":"@x:matrix.org"}`))
	if a.Status != http.StatusForbidden || !strings.Contains(a.Error, "could not check") {
		t.Fatalf("got %d %q; want 403 (fail closed)", a.Status, a.Error)
	}
	if n := testutil.ToFloat64(gk.metrics.RoomStateFailure); n != 1 {
		t.Errorf("room state failures counted %v, want 1", n)
	}
}
