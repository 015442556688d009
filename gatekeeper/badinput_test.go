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
// refused (400, by Go's server or by the gatekeeper's framing guard) and
// never forwarded, on judged and streamed paths alike; a request hidden in
// its body never reaches the upstream.
func TestSmugglingIsRefused(t *testing.T) {
	// The hidden request: an invite the gatekeeper refuses. Read as a
	// second request by the gatekeeper, it is judged and refused; read
	// out of a body by the upstream, it would have been smuggled past.
	outsider := `{"user_id":"@x:matrix.org"}`
	smuggled := fmt.Sprintf("POST /_matrix/client/v3/rooms/%s/invite HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nContent-Length: %d\r\n\r\n%s", clinicalRoom, len(outsider), outsider)
	invite := outsider
	chunked := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(invite), invite)
	tests := []struct {
		name   string
		raw    string
		status int
		errMsg string
	}{
		{"two different Content-Lengths", "POST /_matrix/client/v3/rooms/" + socialRoom + "/invite HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nContent-Length: 5\r\nContent-Length: 30\r\n\r\n" + invite, 400, ""},
		{"an unknown Transfer-Encoding", "POST /_matrix/client/v3/rooms/" + socialRoom + "/invite HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, ""},
		{"two Transfer-Encodings", "POST /_matrix/client/v3/rooms/" + socialRoom + "/invite HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n", 501, ""},
		{"Content-Length and chunked on a judged path", "POST /_matrix/client/v3/rooms/" + socialRoom + "/invite HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
			chunked + smuggled, 400, "names both a Content-Length and a Transfer-Encoding"},
		{"chunked and Content-Length, other case and order", "POST /_matrix/client/v3/rooms/" + socialRoom + "/invite HTTP/1.1\r\nHost: x\r\ntransfer-encoding: Chunked\r\nAuthorization: Bearer alice-token\r\ncontent-length: 4\r\n\r\n" +
			chunked + smuggled, 400, "both a Content-Length"},
		{"Content-Length and chunked on a streamed path", "PUT /_matrix/client/v3/profile/@a:trust-a.nhs.uk/avatar_url HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"2\r\n{}\r\n0\r\n\r\n" + smuggled, 400, "both a Content-Length"},
		{"a folded Transfer-Encoding", "PUT /_matrix/client/v3/profile/@a:trust-a.nhs.uk/avatar_url HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nTransfer-Encoding:\r\n chunked\r\n\r\n" +
			"2\r\n{}\r\n0\r\n\r\n" + smuggled, 400, "or folds a header line"},
		{"the mark hidden behind Connection", "PUT /_matrix/client/v3/profile/@a:trust-a.nhs.uk/avatar_url HTTP/1.1\r\nHost: x\r\nConnection: Caldicott-Framing-Conflict\r\nAuthorization: Bearer alice-token\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"2\r\n{}\r\n0\r\n\r\n" + smuggled, 400, "both a Content-Length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newRig(t, rooms)
			resp, body := rawExchange(t, g.url, tt.raw)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.errMsg) {
				t.Fatalf("status %d (%s); want %d saying %q", resp.StatusCode, body, tt.status, tt.errMsg)
			}
			if n := len(g.up.requests()); n != 0 {
				t.Fatalf("the upstream received %d requests; want none", n)
			}
		})
	}
}

// The framing guard follows bodies, so requests after a chunked one or one
// with a Content-Length on the same connection are read where they start:
// pipelined, each is judged or passed as it should be, and a client's own
// mark is dropped, not believed.
func TestFramingGuardFollowsKeepAlive(t *testing.T) {
	g := newRig(t, rooms)
	colleague := `{"user_id":"@bob:trust-a.nhs.uk"}`
	outsider := `{"user_id":"@x:matrix.org"}`
	head := func(room, extra string) string {
		return "POST /_matrix/client/v3/rooms/" + room + "/invite HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\n" + extra
	}
	raw := head(socialRoom, "Transfer-Encoding: chunked\r\n\r\n") + fmt.Sprintf("3\r\n%s\r\n%x;ext=1\r\n%s\r\n0\r\nX-Trailer: y\r\n\r\n", colleague[:3], len(colleague)-3, colleague[3:]) +
		head(clinicalRoom, fmt.Sprintf("Content-Length: %d\r\n\r\n", len(outsider))) + outsider +
		head(socialRoom, fmt.Sprintf("Caldicott-Framing-Conflict: 1\r\nContent-Length: %d\r\n\r\n", len(colleague))) + colleague
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(conn)
	for i, want := range []int{200, 403, 200} {
		resp, err := http.ReadResponse(rd, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("response %d: %d %s; want %d", i, resp.StatusCode, b, want)
		}
	}
	seen := g.up.requests()
	if len(seen) != 2 || string(seen[0].Body) != colleague || string(seen[1].Body) != colleague {
		t.Fatalf("upstream saw %d requests; want the two colleagues' invites whole", len(seen))
	}
	if seen[1].Header.Get(framingConflictHeader) != "" {
		t.Fatal("a client's own framing mark reached the upstream")
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
