package membership

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/bridges/directory"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// SCIMRemovalsHeld tells the management room that the identity provider's
// removals are being refused, once per hold (the SCIM handler calls it for
// the first refusal; the store audits every refusal).
func (s *Membership) SCIMRemovalsHeld(ctx context.Context, userID string, held *directory.HeldError) error {
	return s.NotifyManagement(ctx, policy.GateDirectoryMissing, fmt.Sprintf(
		"The identity provider asked over SCIM to remove %s from the staff directory, and I refused: that would make %d of %d active staff removed over SCIM within %s, more than the %.0f%% limit (directory.max_removal_fraction). Nobody has been removed on its account, and further SCIM removals are held too. If they are right (e.g. a planned restructure), an IG admin types `!policy directory confirm` here to apply them; otherwise they go through as the identity provider sends them again after the window. If they are not expected, someone may be misusing the provisioning token: check the identity provider's logs.",
		userID, held.Removed, held.Active, directory.WindowWords(held.Window), 100*held.MaxFraction))
}

// scimHoldStatus is the line `!policy directory status` shows while SCIM
// removals are held, or "".
func (s *Membership) scimHoldStatus(ctx context.Context) (string, error) {
	held, err := s.Store.HeldRemovals(ctx, directory.SCIMSource, s.Now().Add(-s.Cfg.Directory.RemovalWindow.Duration))
	if err != nil || len(held) == 0 {
		return "", err
	}
	ids := make([]string, len(held))
	for i, h := range held {
		ids[i] = h.UserID
	}
	return fmt.Sprintf("\nSCIM removals held for confirmation since %s: %s. `!policy directory confirm` applies them.",
		held[0].RefusedAt.UTC().Format("2 Jan 2006 15:04 MST"), people(ids)), nil
}

// confirmSCIMRemovals applies held SCIM removals for an IG admin; held is
// false when none was waiting.
func (s *Membership) confirmSCIMRemovals(ctx context.Context, c *commands.Call) (text string, held bool, err error) {
	by := store.DirectoryAuthor{Actor: c.Evt.Sender.String(), Via: "held SCIM removals confirmed with !policy directory confirm"}
	// Only what status listed: a removal held longer ago than the window was
	// neither shown to the admin nor still the identity provider's wish.
	res, err := s.Store.ConfirmRemovals(ctx, directory.SCIMSource, s.Now().Add(-s.Cfg.Directory.RemovalWindow.Duration), by)
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if err := s.Audit(ctx, c.Evt.Sender.String(), "", "directory_confirm", "held SCIM removals confirmed", map[string]any{"applied": res.Applied, "skipped": res.Skipped}); err != nil {
		return "", true, err
	}
	text = fmt.Sprintf("Confirmed and applied: %d held SCIM removals (%s). They are being removed from clinical rooms now; SCIM removals are counted afresh from now.", len(res.Applied), people(res.Applied))
	if len(res.Skipped) > 0 {
		text += fmt.Sprintf("\nNot applied, because their directory record changed after the refusal or they are no longer active: %s. Use `!policy leaver` for anyone who must go now.", people(res.Skipped))
	}
	return text, true, nil
}

// people lists user IDs for a notice, the first ten and how many more.
func people(ids []string) string {
	if len(ids) == 0 {
		return "nobody"
	}
	if len(ids) <= 10 {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:10], ", "), len(ids)-10)
}
