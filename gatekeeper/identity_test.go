package gatekeeper

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A burst of requests with the same credentials asks Dendrite's whoami
// once, not once per request (Dendrite rate-limits it).
func TestCredentialsCheckedOncePerBurst(t *testing.T) {
	var asked atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		<-release
		_, _ = w.Write([]byte(`{"user_id":"@alice:trust-a.nhs.uk"}`))
	}))
	t.Cleanup(srv.Close)
	c := &identities{client: srv.Client(), base: srv.URL, ttl: time.Minute, timeout: 5 * time.Second, known: map[[sha256.Size]byte]string{}}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			who, err := c.Who(context.Background(), "Bearer alice-token", "")
			if err == nil && who != "@alice:trust-a.nhs.uk" {
				t.Errorf("Who = %q", who)
			}
			errs <- err
		})
	}
	// Let the burst gather behind the first ask before it is answered.
	time.Sleep(200 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := asked.Load(); n != 1 {
		t.Fatalf("whoami asked %d times for one burst; want 1", n)
	}
}

// Dendrite rate-limiting the credentials check is passed back as a rate
// limit (429, its wait), not turned into a refusal of the request.
func TestRateLimitedCredentialsCheckIsNotARefusal(t *testing.T) {
	g := newRig(t, rooms)
	path := "/_matrix/client/v3/rooms/" + clinicalRoom + "/state/m.room.join_rules"
	body := []byte(`{"join_rule":"public"}`)
	a := g.do(t, http.MethodPut, path, body, "Authorization", "Bearer "+limitedToken)
	if a.Status != http.StatusTooManyRequests || a.ErrCode != "M_LIMIT_EXCEEDED" {
		t.Fatalf("got %d %s %q; want 429 M_LIMIT_EXCEEDED", a.Status, a.ErrCode, a.Error)
	}
	var wait struct {
		RetryAfterMS int64 `json:"retry_after_ms"`
	}
	if err := json.Unmarshal(a.Body, &wait); err != nil || wait.RetryAfterMS != 1500 || a.Header.Get("Retry-After") != "2" {
		t.Fatalf("wait: %s, Retry-After %q; want retry_after_ms 1500, Retry-After 2", a.Body, a.Header.Get("Retry-After"))
	}
	if n := g.refusals(EndpointClientState, ReasonStateUnknown); n != 0 {
		t.Fatalf("counted as %v room_state_unavailable refusals; want none", n)
	}
}
