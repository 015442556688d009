package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// FederationView is the federation as the appservice last read it: what
// the gatekeeper, another process, judges federated servers and users by
// without reading the policy list itself.
type FederationView struct {
	// Servers are the other member trusts' servers: this trust's
	// federation.servers and those the list allows, less those it removed.
	Servers []string `json:"servers"`
	// Banned are the list's user bans in force (an exact user ID, or a
	// glob over the localparts of one server), with the reason published.
	Banned []ListBan `json:"banned"`
	// UpdatedAt is when the appservice last read the list (the store's clock).
	UpdatedAt time.Time `json:"-"`
}

// ListBan is one user rule of the list: a leaver or a suspension.
type ListBan struct {
	Entity string `json:"entity"`
	Reason string `json:"reason"`
}

// SetFederationView replaces the view, stamped with the store's clock.
func (s *Store) SetFederationView(ctx context.Context, v FederationView) error {
	servers, err := json.Marshal(jsonList(v.Servers))
	if err != nil {
		return fmt.Errorf("encode the federation's servers: %w", err)
	}
	banned, err := json.Marshal(jsonList(v.Banned))
	if err != nil {
		return fmt.Errorf("encode the federation's bans: %w", err)
	}
	_, err = s.db.Exec(ctx, `INSERT INTO federation_view (id, servers, banned, updated_at) VALUES (1, $1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET servers = excluded.servers, banned = excluded.banned, updated_at = excluded.updated_at`,
		string(servers), string(banned), s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("write the federation view: %w", err)
	}
	return nil
}

// FederationView reads the view; ErrNotFound when none was written.
func (s *Store) FederationView(ctx context.Context) (FederationView, error) {
	var v FederationView
	var servers, banned string
	var at int64
	err := s.db.QueryRow(ctx, `SELECT servers, banned, updated_at FROM federation_view WHERE id = 1`).Scan(&servers, &banned, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return v, ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("read the federation view: %w", err)
	}
	if err := json.Unmarshal([]byte(servers), &v.Servers); err != nil {
		return v, dbFailure(fmt.Errorf("read the federation view's servers: %w", err))
	}
	if err := json.Unmarshal([]byte(banned), &v.Banned); err != nil {
		return v, dbFailure(fmt.Errorf("read the federation view's bans: %w", err))
	}
	v.UpdatedAt = time.UnixMilli(at)
	return v, nil
}

// jsonList writes an empty list as [], never null.
func jsonList[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}
