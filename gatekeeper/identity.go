package gatekeeper

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// errNoCredentials: Dendrite does not know the request's credentials, and
// will refuse the request itself.
var errNoCredentials = errors.New("credentials unknown to the homeserver")

// identities checks that a client's credentials are ones Dendrite accepts
// (GET /account/whoami) before anything about a room is decided for it: a
// refusal that depends on a room's class would otherwise tell anyone
// holding a room ID, signed in or not, whether the room is clinical.
// Answers are kept for the TTL, keyed by a hash of the credentials.
type identities struct {
	client  *http.Client
	base    string
	ttl     time.Duration
	timeout time.Duration

	mu    sync.Mutex
	known map[[sha256.Size]byte]string
	// asking makes one whoami per credentials at a time: a client's
	// burst of requests would otherwise be a burst of whoamis, which
	// Dendrite rate-limits.
	asking singleflight.Group
}

// rateLimitedError: Dendrite rate-limited the whoami (429). The client is
// answered 429 with Dendrite's wait, not refused: it may try again.
type rateLimitedError struct{ retryAfterMS int64 }

func (e rateLimitedError) Error() string { return "whoami: rate-limited by the homeserver" }

// rateLimited is the 429 a rate-limited credentials check is answered
// with, nil for any other error.
func rateLimited(err error) *Refusal {
	var rl rateLimitedError
	if !errors.As(err, &rl) {
		return nil
	}
	return &Refusal{Status: http.StatusTooManyRequests, ErrCode: "M_LIMIT_EXCEEDED", Rule: ReasonRateLimited, RetryAfterMS: rl.retryAfterMS,
		Reason: "Too many requests just now: wait a moment and try again."}
}

// Check returns nil when Dendrite accepts the credentials, errNoCredentials
// when it does not, another error when it could not be asked.
func (c *identities) Check(ctx context.Context, auth string) error {
	_, err := c.Who(ctx, auth, "")
	return err
}

// Who is the user the credentials stand for; asUser is the request's
// user_id parameter, with which an appservice acts as one of its users.
// Errors as Check's.
func (c *identities) Who(ctx context.Context, auth, asUser string) (string, error) {
	if auth == "" {
		return "", errNoCredentials
	}
	key := sha256.Sum256([]byte(auth + "\x00" + asUser))
	c.mu.Lock()
	who, ok := c.known[key]
	c.mu.Unlock()
	if ok {
		return who, nil
	}
	// One ask for every request waiting on these credentials; it is not
	// ended by the first asker going away, only by its own timeout.
	v, err, _ := c.asking.Do(string(key[:]), func() (any, error) {
		return c.ask(context.WithoutCancel(ctx), key, auth, asUser)
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// ask asks Dendrite whom the credentials stand for, and remembers it.
func (c *identities) ask(ctx context.Context, key [sha256.Size]byte, auth, asUser string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := strings.TrimSuffix(c.base, "/") + "/_matrix/client/v3/account/whoami"
	if asUser != "" {
		u += "?" + url.Values{"user_id": {asUser}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("whoami: %w", err)
	}
	req.Header.Set("Authorization", auth)
	resp, err := c.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("whoami: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		return "", errNoCredentials
	case resp.StatusCode == http.StatusTooManyRequests:
		return "", rateLimitedError{retryAfterMS: retryAfterMS(resp)}
	default:
		return "", fmt.Errorf("whoami: homeserver answered %d", resp.StatusCode)
	}
	var body struct {
		UserID string `json:"user_id"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil || body.UserID == "" {
		return "", fmt.Errorf("whoami: unreadable answer")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.known) < maxRememberedRooms {
		c.known[key] = body.UserID
		// Forgotten after the TTL, so a signed-out token stops counting.
		time.AfterFunc(c.ttl, func() {
			c.mu.Lock()
			delete(c.known, key)
			c.mu.Unlock()
		})
	}
	return body.UserID, nil
}

// retryAfterMS is how long a 429 says to wait: its body's retry_after_ms
// (Dendrite's), else its Retry-After header in seconds; 0 when neither.
func retryAfterMS(resp *http.Response) int64 {
	var body struct {
		RetryAfterMS int64 `json:"retry_after_ms"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body) == nil && body.RetryAfterMS > 0 {
		return body.RetryAfterMS
	}
	if secs, err := strconv.ParseInt(resp.Header.Get("Retry-After"), 10, 64); err == nil && secs > 0 {
		return secs * 1000
	}
	return 0
}
