package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// gatekeeperStateKey is the kv row where the gatekeeper records how far it
// trusts the federation view; the appservice, which alone writes to the
// homeserver, tells the management room when it changes.
const gatekeeperStateKey = "gatekeeper_state"

// The gatekeeper's states the store records (a store it cannot reach
// cannot record that it cannot).
const (
	// GatekeeperOK: the view is fresh, or no list is configured.
	GatekeeperOK = "ok"
	// GatekeeperListMissing: a list is configured and no view written yet.
	GatekeeperListMissing = "list_missing"
	// GatekeeperListStale: the view is older than the gatekeeper's MaxListAge.
	GatekeeperListStale = "list_stale"
)

// GatekeeperState is the gatekeeper's standing towards the federation view.
type GatekeeperState struct {
	// State is one of the Gatekeeper* states.
	State string `json:"state"`
	// Since is when the gatekeeper found it so (the store's clock).
	Since time.Time `json:"since"`
	// ListUpdatedAt is when the view it serves was written (zero: none).
	ListUpdatedAt time.Time `json:"list_updated_at"`
	// MaxListAge is the gatekeeper's limit (gatekeeper.max_list_age).
	MaxListAge time.Duration `json:"max_list_age"`
}

// SetGatekeeperState records the gatekeeper's standing.
func (s *Store) SetGatekeeperState(ctx context.Context, st GatekeeperState) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode the gatekeeper's state: %w", err)
	}
	return s.SetKV(ctx, gatekeeperStateKey, string(raw))
}

// GatekeeperState reads the gatekeeper's standing; ErrNotFound when no
// gatekeeper recorded one.
func (s *Store) GatekeeperState(ctx context.Context) (GatekeeperState, error) {
	var st GatekeeperState
	raw, ok, err := s.KV(ctx, gatekeeperStateKey)
	if err != nil {
		return st, err
	}
	if !ok {
		return st, ErrNotFound
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return st, dbFailure(fmt.Errorf("read the gatekeeper's state: %w", err))
	}
	return st, nil
}
