package gatekeeper

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
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
	known map[[sha256.Size]byte]bool
}

// Check returns nil when Dendrite accepts the credentials, errNoCredentials
// when it does not, another error when it could not be asked.
func (c *identities) Check(ctx context.Context, auth string) error {
	if auth == "" {
		return errNoCredentials
	}
	key := sha256.Sum256([]byte(auth))
	c.mu.Lock()
	ok := c.known[key]
	c.mu.Unlock()
	if ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.base, "/")+"/_matrix/client/v3/account/whoami", nil)
	if err != nil {
		return fmt.Errorf("whoami: %w", err)
	}
	req.Header.Set("Authorization", auth)
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("whoami: %w", err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		return errNoCredentials
	default:
		return fmt.Errorf("whoami: homeserver answered %d", resp.StatusCode)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.known) < maxRememberedRooms {
		c.known[key] = true
		// Forgotten after the TTL, so a signed-out token stops counting.
		time.AfterFunc(c.ttl, func() {
			c.mu.Lock()
			delete(c.known, key)
			c.mu.Unlock()
		})
	}
	return nil
}
