package appservice

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/store"
)

// TestWithdrawLeavers: the directory sweep withdraws the confirmations of
// the trust's own staff marked left or suspended, and nobody else's: not
// active staff, not people missing from the directory, not other trusts'.
func TestWithdrawLeavers(t *testing.T) {
	ctx := context.Background()
	cfg, err := config.Parse([]byte(`
homeserver: {address: "http://127.0.0.1:1", domain: "a.nhs.uk"}
appservice: {address: "http://127.0.0.1:2", as_token: "` + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + `", hs_token: "` + "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" + `", encryption: disabled}
trust: {name: "Trust A"}
`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, store.SQLite, filepath.Join(t.TempDir(), "c.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := New(cfg, st, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: "@left:a.nhs.uk", Name: "L", Status: "left"},
		{UserID: "@suspended:a.nhs.uk", Name: "S", Status: "suspended"},
		{UserID: "@active:a.nhs.uk", Name: "A", Status: "active"},
		{UserID: "@other:b.nhs.uk", Name: "O", Status: "left"},
	}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"@left:a.nhs.uk", "@suspended:a.nhs.uk", "@active:a.nhs.uk", "@missing:a.nhs.uk", "@other:b.nhs.uk"} {
		if err := st.SaveAttestation(ctx, store.Attestation{UserID: u, MasterKey: "K", Method: "in person", AttestedBy: "@ig:a.nhs.uk"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.verification.WithdrawLeavers(ctx); err != nil {
		t.Fatal(err)
	}
	for u, kept := range map[string]bool{"@left:a.nhs.uk": false, "@suspended:a.nhs.uk": false, "@active:a.nhs.uk": true, "@missing:a.nhs.uk": true, "@other:b.nhs.uk": true} {
		_, err := st.AttestationOf(ctx, u)
		if kept != (err == nil) || !kept && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: kept=%v, err %v", u, kept, err)
		}
	}
}
