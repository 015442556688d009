package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestFederationView: the appservice writes the federation as it read it,
// stamped with the store's clock; another process (the gatekeeper, another
// Store on the same database) reads it back whole, and each write replaces
// the last.
func TestFederationView(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		appservice, gatekeeper := open(), open()
		if _, err := gatekeeper.FederationView(ctx); !errors.Is(err, ErrNotFound) {
			t.Fatalf("no view written yet: err = %v, want ErrNotFound", err)
		}
		at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		appservice.SetClock(func() time.Time { return at })
		first := FederationView{
			Servers: []string{"trust-b", "trust-c:8448"},
			Banned:  []ListBan{{Entity: "@jo:trust-b", Reason: "left the trust"}, {Entity: "@locum.*:trust-c:8448", Reason: "agency contract ended"}},
		}
		if err := appservice.SetFederationView(ctx, first); err != nil {
			t.Fatal(err)
		}
		got, err := gatekeeper.FederationView(ctx)
		if err != nil || !slices.Equal(got.Servers, first.Servers) || !slices.Equal(got.Banned, first.Banned) || !got.UpdatedAt.Equal(at) {
			t.Fatalf("read back %+v, %v; want %+v at %s", got, err, first, at)
		}
		at = at.Add(10 * time.Minute)
		if err := appservice.SetFederationView(ctx, FederationView{Servers: []string{"trust-b"}}); err != nil {
			t.Fatal(err)
		}
		got, err = gatekeeper.FederationView(ctx)
		if err != nil || !slices.Equal(got.Servers, []string{"trust-b"}) || len(got.Banned) != 0 || got.Banned == nil || !got.UpdatedAt.Equal(at) {
			t.Fatalf("after the second write: %+v, %v", got, err)
		}
	})
}

// TestGatekeeperState: the gatekeeper's record of its standing, read back
// by the appservice (another Store on the same database) as written.
func TestGatekeeperState(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		gatekeeper, appservice := open(), open()
		if _, err := appservice.GatekeeperState(ctx); !errors.Is(err, ErrNotFound) {
			t.Fatalf("no state recorded yet: err = %v, want ErrNotFound", err)
		}
		since := time.Date(2026, 12, 10, 9, 0, 0, 0, time.UTC)
		want := GatekeeperState{State: GatekeeperListStale, Since: since, ListUpdatedAt: since.Add(-73 * time.Hour), MaxListAge: 72 * time.Hour}
		if err := gatekeeper.SetGatekeeperState(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := appservice.GatekeeperState(ctx)
		if err != nil || got.State != want.State || !got.Since.Equal(since) || !got.ListUpdatedAt.Equal(want.ListUpdatedAt) || got.MaxListAge != want.MaxListAge {
			t.Fatalf("read back %+v, %v; want %+v", got, err, want)
		}
	})
}
