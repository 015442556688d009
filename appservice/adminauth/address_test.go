package adminauth

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/config"
)

// TestClientAddress: X-Forwarded-For counts only from a trusted proxy,
// and then its right-most hop that is not a trusted proxy (what the
// client wrote to its left is ignored); IPv6 clients share a limit per /64.
func TestClientAddress(t *testing.T) {
	a := New(Options{Store: newRig(t, nil).st, Config: config.AdminAPI{TrustedProxies: []string{"10.0.0.0/24", "2001:db8:ffff::1"}}})
	tests := []struct {
		name, remote string
		xff          []string
		address, key string
	}{
		{"direct", "192.0.2.9:5000", nil, "192.0.2.9", "192.0.2.9"},
		{"header from an untrusted peer is ignored", "192.0.2.9:5000", []string{"198.51.100.1"}, "192.0.2.9", "192.0.2.9"},
		{"through the proxy", "10.0.0.2:5000", []string{"198.51.100.1"}, "198.51.100.1", "198.51.100.1"},
		{"the client's own header is ignored", "10.0.0.2:5000", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1", "198.51.100.1"},
		{"two trusted proxies", "10.0.0.2:5000", []string{"203.0.113.5, 10.0.0.7"}, "203.0.113.5", "203.0.113.5"},
		{"repeated headers", "10.0.0.2:5000", []string{"1.2.3.4", "203.0.113.5"}, "203.0.113.5", "203.0.113.5"},
		{"only proxies", "10.0.0.2:5000", []string{"10.0.0.3"}, "10.0.0.3", "10.0.0.3"},
		{"no header from the proxy", "10.0.0.2:5000", nil, "10.0.0.2", "10.0.0.2"},
		{"garbage from the proxy", "10.0.0.2:5000", []string{"Jane Doe"}, "10.0.0.2", "10.0.0.2"},
		{"IPv6 client by /64", "10.0.0.2:5000", []string{"2001:db8:1:2:aaaa::1"}, "2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"IPv6 proxy", "[2001:db8:ffff::1]:443", []string{"[2001:db8:1:2::9]:51000"}, "2001:db8:1:2::9", "2001:db8:1:2::/64"},
		{"mapped IPv4", "[::ffff:10.0.0.2]:5000", []string{"198.51.100.1"}, "198.51.100.1", "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/_caldicott/signin", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := a.clientAddress(r); got != tt.address {
				t.Errorf("address %q, want %q", got, tt.address)
			}
			if got := a.addressKey(r); got != tt.key {
				t.Errorf("limit key %q, want %q", got, tt.key)
			}
		})
	}
}

// TestSignInBehindProxy: behind a trusted TLS proxy, an outsider who
// floods sign-in for made-up names exhausts only their own address's
// allowance: an IG admin at another address still gets their code, and
// the audit log names each one's own address. Without trusted_proxies the
// header is ignored, so rotating it gains an outsider nothing.
func TestSignInBehindProxy(t *testing.T) {
	rg := newRig(t, func(c *config.AdminAPI) {
		c.SignIn.PerAddressPerHour, c.TrustedProxies = 3, []string{"127.0.0.0/8", "::1"}
	})
	outsider := rg.browserFrom(t, "203.0.113.66")
	for i := range 3 {
		rg.askCode(t, outsider, "@made-up-"+itoa(i)+":trust-a.example")
	}
	if status, _ := rg.askCode(t, outsider, "@made-up-9:trust-a.example"); status != http.StatusTooManyRequests {
		t.Fatalf("the outsider's fourth request: %d, want 429", status)
	}
	if status, _ := rg.askCode(t, rg.browserFrom(t, "198.51.100.7"), igAdmin); status != http.StatusOK {
		t.Fatalf("the IG admin, from their own address: %d, want 200", status)
	}
	rg.codeSent(t, igAdmin)
	requested := rg.audits(t, ActionCodeRequested)
	if last := requested[len(requested)-1]; last.Actor != igAdmin || !strings.Contains(last.Detail, `"address":"198.51.100.7"`) {
		t.Errorf("the IG admin's request audited as %s %s", last.Actor, last.Detail)
	}

	direct := newRig(t, func(c *config.AdminAPI) { c.SignIn.PerAddressPerHour = 2 })
	for i := range 2 {
		direct.askCode(t, direct.browserFrom(t, "203.0.113."+itoa(i)), "@made-up:trust-a.example")
	}
	if status, _ := direct.askCode(t, direct.browserFrom(t, "203.0.113.99"), "@other:trust-a.example"); status != http.StatusTooManyRequests {
		t.Errorf("X-Forwarded-For from an untrusted peer was believed: %d, want 429", status)
	}
}

// browserFrom is a browser behind the test's proxy, which says the
// client's address is addr.
func (rg *rig) browserFrom(t *testing.T, addr string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: forwarded{addr},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type forwarded struct{ addr string }

func (f forwarded) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.addr)
	return http.DefaultTransport.RoundTrip(r)
}
