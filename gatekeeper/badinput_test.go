package gatekeeper

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestBadInputOnJudgedEndpoints(t *testing.T) {
	invite := "/_matrix/client/v3/rooms/" + clinicalRoom + "/invite"
	big := []byte(`{"user_id":"@bob:trust-a.nhs.uk","reason":"` + strings.Repeat("x", 70<<10) + `"}`)
	tests := []struct {
		name, path string
		body       []byte
		status     int
		errcode    string
	}{
		{"too large", invite, big, 413, "M_TOO_LARGE"},
		{"not JSON", invite, []byte(`{"user_id":`), 400, "M_NOT_JSON"},
		{"JSON of the wrong shape", invite, []byte(`{"user_id":42}`), 400, "M_BAD_JSON"},
		{"an array, not an object", invite, []byte(`["@x:matrix.org"]`), 400, "M_BAD_JSON"},
		{"user_id twice", invite, []byte(`{"user_id":"@bob:trust-a.nhs.uk","user_id":"@x:matrix.org"}`), 400, "M_BAD_JSON"},
		{"user_id twice, case folded", invite, []byte(`{"user_id":"@bob:trust-a.nhs.uk","USER_ID":"@x:matrix.org"}`), 400, "M_BAD_JSON"},
		{"state not an object", "/_matrix/client/v3/rooms/" + clinicalRoom + "/state/m.room.join_rules", []byte(`"public"`), 400, "M_BAD_JSON"},
		{"message not JSON", "/_matrix/client/v3/rooms/" + socialRoom + "/send/m.room.message/t1", []byte(`body=943 476 5919`), 400, "M_NOT_JSON"},
		{"createRoom too large", "/_matrix/client/v3/createRoom", big, 413, "M_TOO_LARGE"},
	}
	g := newRig(t, rooms)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodPost
			if strings.Contains(tt.path, "/state/") || strings.Contains(tt.path, "/send/") {
				method = http.MethodPut
			}
			a := g.do(t, method, tt.path, tt.body)
			if a.Status != tt.status || a.ErrCode != tt.errcode {
				t.Fatalf("got %d %s (%s); want %d %s", a.Status, a.ErrCode, a.Error, tt.status, tt.errcode)
			}
			if n := len(g.up.requests()); n != 0 {
				t.Fatalf("the upstream saw %d requests; a body that cannot be judged must not pass", n)
			}
		})
	}
	if n := g.refusals(EndpointClientInvite, ReasonTooLarge); n != 1 {
		t.Errorf("too_large refusals counted %v, want 1", n)
	}
}

// A chunked body of unknown length is judged like any other: capped, and
// passed on whole (re-framed with its length) when it is allowed.
func TestChunkedJudgedBody(t *testing.T) {
	g := newRig(t, rooms)
	path := "/_matrix/client/v3/rooms/" + clinicalRoom + "/invite"
	body := []byte(`{"user_id":"@bob:trust-a.nhs.uk"}`)
	req, _ := http.NewRequest(http.MethodPost, g.url+path, io.MultiReader(bytes.NewReader(body[:5]), bytes.NewReader(body[5:])))
	req.ContentLength = -1 // sent chunked
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	seen := g.up.requests()
	if resp.StatusCode != 200 || len(seen) != 1 || !bytes.Equal(seen[0].Body, body) {
		t.Fatalf("status %d, upstream saw %d requests; want the chunked body passed whole", resp.StatusCode, len(seen))
	}
	if te := seen[0].Header.Get("Transfer-Encoding"); te != "" {
		t.Errorf("judged body passed on with Transfer-Encoding %q; want it re-framed with its length", te)
	}
}

// rawExchange writes raw bytes to the gatekeeper and reads one response.
func rawExchange(t *testing.T, url, raw string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// Request smuggling: a request whose framing could be read two ways is
// refused by the listener, or re-framed so that Dendrite reads exactly
// what was judged, never a second request hidden in the body.
func TestSmugglingIsRefusedOrReframed(t *testing.T) {
	// The hidden request: an invite the gatekeeper refuses. Read as a
	// second request by the gatekeeper, it is judged and refused; read
	// out of a body by the upstream, it would have been smuggled past.
	outsider := `{"user_id":"@x:matrix.org"}`
	smuggled := fmt.Sprintf("POST /_matrix/client/v3/rooms/%s/invite HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nContent-Length: %d\r\n\r\n%s", clinicalRoom, len(outsider), outsider)
	invite := outsider
	tests := []struct {
		name   string
		raw    string
		status int
	}{
		{"two different Content-Lengths", "POST /_matrix/client/v3/rooms/" + socialRoom + "/invite HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nContent-Length: 5\r\nContent-Length: 30\r\n\r\n" + invite, 400},
		{"an unknown Transfer-Encoding", "POST /_matrix/client/v3/rooms/" + socialRoom + "/invite HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
		{"two Transfer-Encodings", "POST /_matrix/client/v3/rooms/" + socialRoom + "/invite HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n", 501},
		{"Content-Length and chunked", "POST /_matrix/client/v3/rooms/" + socialRoom + "/invite HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(invite), invite) + smuggled, 200},
		{"Content-Length and chunked on a passthrough", "PUT /_matrix/client/v3/profile/@a:trust-a.nhs.uk/displayname HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"2\r\n{}\r\n0\r\n\r\n" + smuggled, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newRig(t, rooms)
			resp, body := rawExchange(t, g.url, tt.raw)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d (%s); want %d", resp.StatusCode, body, tt.status)
			}
			for _, s := range g.up.requests() {
				if strings.Contains(s.RequestURI, clinicalRoom) || bytes.Contains(s.Body, []byte("POST")) {
					t.Fatalf("the upstream received the smuggled request")
				}
				if s.Header.Get("Content-Length") != "" && s.Header.Get("Transfer-Encoding") != "" {
					t.Fatalf("the upstream received both framings")
				}
			}
			if tt.status != 200 && len(g.up.requests()) != 0 {
				t.Fatalf("a refused request reached the upstream")
			}
		})
	}
}

func TestHasDuplicateKeys(t *testing.T) {
	tests := []struct {
		body string
		dup  bool
	}{
		{`{"a":1,"b":2}`, false},
		{`{"a":{"x":1},"b":{"x":2}}`, false},
		{`{"a":[{"x":1},{"x":2}]}`, false},
		{`{"a":1,"a":2}`, true},
		{`{"a":{"x":1,"x":2}}`, true},
		{`{"users":{},"Users":{}}`, true},
		{`{"a":[1,{"k":1,"K":2}]}`, true},
		{`{"\u0061":1,"a":2}`, true},
		{`[1,2,{"a":{}},{"a":{}}]`, false},
		{`"string"`, false},
	}
	for _, tt := range tests {
		if got := hasDuplicateKeys([]byte(tt.body)); got != tt.dup {
			t.Errorf("hasDuplicateKeys(%s) = %v, want %v", tt.body, got, tt.dup)
		}
	}
}
