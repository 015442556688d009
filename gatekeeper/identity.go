package gatekeeper

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	known map[[sha256.Size]byte]string // the user each belongs to
}

// Check returns nil when Dendrite accepts the credentials, errNoCredentials
// when it does not, another error when it could not be asked.
func (c *identities) Check(ctx context.Context, auth string) error {
	_, err := c.Who(ctx, auth)
	return err
}

// Who is the user the credentials belong to, as Dendrite says (errors as Check's).
func (c *identities) Who(ctx context.Context, auth string) (string, error) {
	if auth == "" {
		return "", errNoCredentials
	}
	key := sha256.Sum256([]byte(auth))
	c.mu.Lock()
	user, ok := c.known[key]
	c.mu.Unlock()
	if ok {
		return user, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.base, "/")+"/_matrix/client/v3/account/whoami", nil)
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
	default:
		return "", fmt.Errorf("whoami: homeserver answered %d", resp.StatusCode)
	}
	var who struct {
		UserID string `json:"user_id"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&who); err != nil || who.UserID == "" {
		return "", fmt.Errorf("whoami: unreadable answer: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.known) < maxRememberedRooms {
		c.known[key] = who.UserID
		// Forgotten after the TTL, so a signed-out token stops counting.
		time.AfterFunc(c.ttl, func() {
			c.mu.Lock()
			delete(c.known, key)
			c.mu.Unlock()
		})
	}
	return who.UserID, nil
}
