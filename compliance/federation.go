package compliance

import (
	"context"
	"errors"
	"time"

	"github.com/caldicott/caldicott/store"
)

// Federation is this trust's standing in the federation.
type Federation struct {
	// Configured servers (federation.servers) and those the list adds.
	Servers []string `json:"servers"`
	// PolicyList is the federation's list room alias ("": none).
	PolicyList string `json:"policy_list,omitempty"`
	// ViewWritten is when the appservice last read the list (zero: never).
	ViewWritten time.Time `json:"view_written,omitzero"`
	ViewAge     string    `json:"view_age,omitempty"`
	ListBans    int       `json:"list_bans"`
	// Gatekeeper is its recorded state ("": no gatekeeper recorded one).
	Gatekeeper      string        `json:"gatekeeper_state,omitempty"`
	GatekeeperSince time.Time     `json:"gatekeeper_since,omitzero"`
	MaxListAge      time.Duration `json:"max_list_age_ns,omitempty"`
}

// GatekeeperWords says the gatekeeper's state for a page.
func (f Federation) GatekeeperWords() string {
	switch f.Gatekeeper {
	case store.GatekeeperOK:
		return "running; its view of the federation is fresh"
	case store.GatekeeperListMissing:
		return "running without a view of the federation: only configured servers count"
	case store.GatekeeperListStale:
		return "running on a view of the federation too old to trust: only configured servers count"
	case "":
		return "no gatekeeper has reported"
	}
	return f.Gatekeeper
}

// Healthy says whether the gatekeeper (if any) trusts its view.
func (f Federation) Healthy() bool { return f.Gatekeeper == "" || f.Gatekeeper == store.GatekeeperOK }

// Federation reads the federation view and the gatekeeper's state.
func (m *Model) Federation(ctx context.Context) (Federation, error) {
	f := Federation{Servers: append([]string{}, m.cfg.Federation.Servers...), PolicyList: m.cfg.Federation.PolicyList}
	v, err := m.st.FederationView(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return f, err
	default:
		f.Servers, f.ListBans = v.Servers, len(v.Banned)
		f.ViewWritten = v.UpdatedAt.UTC()
		f.ViewAge = m.Now().Sub(v.UpdatedAt).Round(time.Second).String()
	}
	g, err := m.st.GatekeeperState(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return f, err
	default:
		f.Gatekeeper, f.GatekeeperSince, f.MaxListAge = g.State, g.Since.UTC(), g.MaxListAge
	}
	return f, nil
}
