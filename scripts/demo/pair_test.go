package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The proxy alternates between the pair, sends the body on, and when one
// is down sends everything to the other.
func TestRoundRobinSkipsADeadProcess(t *testing.T) {
	answer := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			_, _ = io.WriteString(w, name+":"+r.Method+":"+r.URL.Path+":"+string(body))
		}))
	}
	a, b := answer("a"), answer("b")
	defer a.Close()
	proxy := httptest.NewServer(&roundRobin{backends: []string{a.URL, b.URL}})
	defer proxy.Close()
	put := func() string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, proxy.URL+"/_matrix/app/v1/transactions/1", strings.NewReader(`{"events":[]}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		return string(got)
	}
	seen := map[string]bool{}
	for range 4 {
		got := put()
		if !strings.HasSuffix(got, `:PUT:/_matrix/app/v1/transactions/1:{"events":[]}`) {
			t.Fatalf("proxied answer %q", got)
		}
		seen[got[:1]] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("round robin reached %v, want both", seen)
	}
	b.Close()
	for range 4 {
		if got := put(); !strings.HasPrefix(got, "a:") {
			t.Fatalf("with b down the proxy answered %q, want a's", got)
		}
	}
}
