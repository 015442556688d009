package gatekeeper

import (
	"fmt"
	"net/http"
	"testing"
)

func xMatrix(origin string) string {
	return fmt.Sprintf(`X-Matrix origin=%q,destination="trust-a.nhs.uk",key="ed25519:a1",sig="c2lnbmF0dXJl"`, origin)
}

func TestFederationOrigin(t *testing.T) {
	room := "%21ward7%3Atrust-a.nhs.uk"
	tests := []struct {
		name, method, path, auth string
		status                   int
		err                      string
	}{
		{"invite v1 from outside", "PUT", "/_matrix/federation/v1/invite/" + room + "/$ev", xMatrix("evil.example"), 403, "evil.example is not a member of this federation"},
		{"invite v2 from outside", "PUT", "/_matrix/federation/v2/invite/" + room + "/$ev", xMatrix("evil.example"), 403, "cannot invite people here"},
		{"invite v2 from a trust", "PUT", "/_matrix/federation/v2/invite/" + room + "/$ev", xMatrix("trust-b.nhs.uk"), 200, ""},
		{"third-party invite exchanged from outside", "PUT", "/_matrix/federation/v1/exchange_third_party_invite/" + room, xMatrix("evil.example"), 403, "evil.example is not a member of this federation"},
		{"third-party invite exchanged by a trust", "PUT", "/_matrix/federation/v1/exchange_third_party_invite/" + room, xMatrix("trust-b.nhs.uk"), 200, ""},
		{"make_join from outside", "GET", "/_matrix/federation/v1/make_join/" + room + "/@x:evil.example?ver=10", xMatrix("evil.example"), 403, "cannot join"},
		{"make_join from a trust with port", "GET", "/_matrix/federation/v1/make_join/" + room + "/@x:127.0.0.12:8448?ver=10", xMatrix("127.0.0.12:8448"), 200, ""},
		{"make_join, trailing slash", "GET", "/_matrix/federation/v1/make_join/" + room + "/@x:evil.example/", xMatrix("evil.example"), 403, "cannot join"},
		{"send_join v2 from outside", "PUT", "/_matrix/federation/v2/send_join/" + room + "/$ev", xMatrix("evil.example"), 403, "cannot join"},
		{"send_join v1 from outside", "PUT", "/_matrix/federation/v1/send_join/" + room + "/$ev", xMatrix("evil.example"), 403, "cannot join"},
		{"make_knock from outside", "GET", "/_matrix/federation/v1/make_knock/" + room + "/@x:evil.example", xMatrix("evil.example"), 403, "cannot knock"},
		{"send_knock from outside", "PUT", "/_matrix/federation/v1/send_knock/" + room + "/$ev", xMatrix("evil.example"), 403, "cannot knock"},
		{"invite without authorization", "PUT", "/_matrix/federation/v2/invite/" + room + "/$ev", "", 401, "X-Matrix"},
		{"invite with two origins", "PUT", "/_matrix/federation/v2/invite/" + room + "/$ev", xMatrix("trust-b.nhs.uk"), 401, "X-Matrix"},
		{"transaction from outside passes whole", "PUT", "/_matrix/federation/v1/send/txn1", xMatrix("evil.example"), 200, ""},
		{"server keys pass", "GET", "/_matrix/key/v2/server", "", 200, ""},
		{"key query passes", "POST", "/_matrix/key/v2/query", "", 200, ""},
		{"version passes", "GET", "/_matrix/federation/v1/version", "", 200, ""},
	}
	g := newRig(t, rooms)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(fmt.Sprintf(`{"pdus":[],"edus":[],"test":%q}`, tt.name))
			header := []string{"Authorization", tt.auth}
			if tt.name == "invite with two origins" {
				header = append(header, "Authorization", xMatrix("evil.example"))
			}
			a := g.doFederation(t, tt.method, tt.path, body, header...)
			g.expect(t, tt.method, tt.path, body, a, tt.status, tt.err)
		})
	}
	if n := g.refusals(EndpointFederationJoin, ReasonOutsideOrigin); n != 4 {
		t.Errorf("federation_join refusals counted %v, want 4", n)
	}
}

func TestFederationSwitchedOff(t *testing.T) {
	g := newRig(t, rooms, func(s *Settings) {
		s.Judges = func(e string) bool { return e != EndpointFederationJoin }
	})
	path := "/_matrix/federation/v1/make_join/%21ward7%3Atrust-a.nhs.uk/@x:evil.example"
	a := g.doFederation(t, "GET", path, []byte{}, "Authorization", xMatrix("evil.example"))
	g.expect(t, "GET", path, []byte{}, a, 200, "")
	path = "/_matrix/federation/v2/invite/%21ward7%3Atrust-a.nhs.uk/$ev"
	a = g.doFederation(t, "PUT", path, []byte(`{}`), "Authorization", xMatrix("evil.example"))
	g.expect(t, "PUT", path, []byte(`{}`), a, 403, "not a member of this federation")
}

// doFederation sends as a server would: no client token.
func (g *rig) doFederation(t *testing.T, method, path string, body []byte, header ...string) answer {
	t.Helper()
	return g.do(t, method, path, body, append([]string{"Authorization", ""}, header...)...)
}

func TestXMatrixOrigin(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		origin  string
		ok      bool
	}{
		{"quoted", []string{`X-Matrix origin="trust-b.nhs.uk",key="ed25519:1",sig="abc"`}, "trust-b.nhs.uk", true},
		{"bare values and spaces", []string{`X-Matrix origin=trust-b.nhs.uk, key="ed25519:1", sig="abc"`}, "trust-b.nhs.uk", true},
		// Dendrite reads only "X-Matrix" and does not unescape: refused
		// rather than judged as a server Dendrite would not see.
		{"scheme in another case", []string{`x-matrix Origin="trust-b.nhs.uk",sig="a"`}, "", false},
		{"escaped quote", []string{`X-Matrix origin="a\"b",sig="a"`}, "", false},
		// Found in review: read one way here and another by Dendrite
		// (which splits on every comma and keeps the last origin).
		{"a bare token, then a second origin", []string{`X-Matrix origin=trust-b.nhs.uk,junk,origin=evil.example,key="ed25519:1",sig="x"`}, "", false},
		{"a second origin inside a quoted value", []string{`X-Matrix origin=trust-b.nhs.uk,x="y,origin=evil.example",key="ed25519:1",sig="x"`}, "", false},
		{"two agreeing headers", []string{`X-Matrix origin="b",key="ed25519:1"`, `X-Matrix origin="b",key="ed25519:2"`}, "b", true},
		{"two disagreeing headers", []string{`X-Matrix origin="b"`, `X-Matrix origin="c"`}, "", false},
		{"origin named twice", []string{`X-Matrix origin="trust-b.nhs.uk",origin="evil.example"`}, "", false},
		{"unterminated", []string{`X-Matrix origin="trust-b.nhs.uk`}, "", false},
		{"no origin", []string{`X-Matrix key="ed25519:1",sig="a"`}, "", false},
		{"bearer only", []string{`Bearer abc`}, "", false},
		{"none", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.headers {
				h.Add("Authorization", v)
			}
			origin, err := xMatrixOrigin(h)
			if (err == nil) != tt.ok || origin != tt.origin {
				t.Fatalf("xMatrixOrigin = %q, %v; want %q ok=%v", origin, err, tt.origin, tt.ok)
			}
		})
	}
}
