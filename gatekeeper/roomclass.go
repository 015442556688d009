package gatekeeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/caldicott/caldicott/policy"
)

// errNotMember: the reader is not in the room, so the homeserver will not
// show its state.
var errNotMember = errors.New("not a member of the room")

// maxRememberedRooms bounds the cache, so a flood of made-up room IDs
// cannot grow it without end; past it, classes are read every time.
const maxRememberedRooms = 50000

// roomClasses reads rooms' classes (their org.caldicott.policy state) from
// Dendrite as the bot, and remembers each for a short while.
type roomClasses struct {
	client   *http.Client
	base     *url.URL
	asToken  string
	bot      string
	ttl      time.Duration
	timeout  time.Duration
	failures interface{ Inc() }

	mu    sync.Mutex
	gen   uint64
	known map[string]rememberedClass
}

type rememberedClass struct {
	policy policy.PolicyContent
	gen    uint64
}

// Class is the room's class. userAuth (the asking client's Authorization
// header) is the fallback reader when the bot is not in the room: anyone
// who may invite or send there may also read its state. An error means the
// class could not be known; callers fail closed where it matters.
func (c *roomClasses) Class(ctx context.Context, roomID, userAuth string) (policy.Class, error) {
	p, err := c.Policy(ctx, roomID, userAuth)
	return p.Class, err
}

// Policy is the room's policy event as Class reads it (the class read as
// the appservice reads it: an unknown one is none). With no userAuth, a
// room the bot is not in is errNotMember, not counted as a failure: the
// appservice does not guard it either.
func (c *roomClasses) Policy(ctx context.Context, roomID, userAuth string) (policy.PolicyContent, error) {
	c.mu.Lock()
	r, ok := c.known[roomID]
	c.mu.Unlock()
	if ok {
		return r.policy, nil
	}
	p, err := c.read(ctx, roomID, "Bearer "+c.asToken, c.bot)
	if errors.Is(err, errNotMember) && userAuth == "" {
		return p, err
	}
	if errors.Is(err, errNotMember) {
		p, err = c.read(ctx, roomID, userAuth, "")
	}
	if err != nil {
		c.failures.Inc()
		return p, err
	}
	c.remember(roomID, p)
	return p, nil
}

// remember keeps a clinical room's policy for the TTL. The timer forgets it
// (no clock is read: the one clock of the project stays the store's). Only
// clinical rooms are remembered: a room the bot has just classified (its
// event goes to Dendrite, not through here) must count at once, and
// remembering "not clinical" would let an outsider's invite or an NHS
// number through for the TTL. A room leaving clinical is remembered as
// clinical a little longer, which refuses, never lets in. Rooms that are
// not clinical are read only for requests that would be refused if they
// were, so not remembering them costs little.
func (c *roomClasses) remember(roomID string, p policy.PolicyContent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.Class != policy.Clinical {
		delete(c.known, roomID)
		return
	}
	if len(c.known) >= maxRememberedRooms {
		return
	}
	c.gen++
	gen := c.gen
	c.known[roomID] = rememberedClass{policy: p, gen: gen}
	time.AfterFunc(c.ttl, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.known[roomID].gen == gen {
			delete(c.known, roomID)
		}
	})
}

// Forget drops what is remembered of a room, when its policy changes.
func (c *roomClasses) Forget(roomID string) {
	c.mu.Lock()
	delete(c.known, roomID)
	c.mu.Unlock()
}

// read asks Dendrite for the room's policy state as one reader.
func (c *roomClasses) read(ctx context.Context, roomID, auth, asUser string) (policy.PolicyContent, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if !strings.HasPrefix(roomID, "!") {
		return policy.PolicyContent{}, errors.New("read a room's class: not a room ID")
	}
	u := strings.TrimSuffix(c.base.String(), "/") + "/_matrix/client/v3/rooms/" + url.PathEscape(roomID) + "/state/" + policy.PolicyEventType
	if asUser != "" {
		u += "?" + url.Values{"user_id": {asUser}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return policy.PolicyContent{}, fmt.Errorf("read class of %s: %w", roomID, err)
	}
	req.Header.Set("Authorization", auth)
	resp, err := c.client.Do(req)
	if err != nil {
		return policy.PolicyContent{}, fmt.Errorf("read class of %s: %w", roomID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return policy.PolicyContent{}, fmt.Errorf("read class of %s: %w", roomID, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var p policy.PolicyContent
		if err := json.Unmarshal(body, &p); err != nil {
			return policy.PolicyContent{}, fmt.Errorf("read class of %s: unreadable policy: %w", roomID, err)
		}
		p.Class, _ = policy.ParseClass(string(p.Class))
		return p, nil
	case http.StatusNotFound:
		return policy.PolicyContent{}, nil
	case http.StatusForbidden:
		return policy.PolicyContent{}, fmt.Errorf("read class of %s: %w", roomID, errNotMember)
	}
	return policy.PolicyContent{}, fmt.Errorf("read class of %s: homeserver answered %d", roomID, resp.StatusCode)
}
