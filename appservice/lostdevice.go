package appservice

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/store"
)

// parseUserArg reads a full user ID from a command argument, or says how to write one.
func (s *Service) parseUserArg(arg, example string) (id.UserID, string) {
	user := id.UserID(arg)
	if _, _, err := user.Parse(); err != nil || !strings.HasPrefix(arg, "@") {
		return "", fmt.Sprintf("%q is not a Matrix user ID. Write it in full, e.g. `%s @jane.doe:%s`.", arg, example, s.cfg.Homeserver.Domain)
	}
	return user, ""
}

// cmdLostDevice is the remote-wipe answer for a lost or stolen phone: every
// device of the user is signed out through Dendrite's admin API (Element
// deletes its local data when its session is ended), and the user is held
// out of clinical rooms until an IG admin releases them after they have
// verified their identity again.
func (s *Service) cmdLostDevice(ctx context.Context, c *commandContext) error {
	user, bad := s.parseUserArg(c.cmd.Args[0], "!policy lost-device")
	if bad != "" {
		return s.reply(ctx, c.evt, bad)
	}
	if user.Homeserver() != s.cfg.Homeserver.Domain {
		return s.reply(ctx, c.evt, fmt.Sprintf("%s is not a user of %s; ask their own trust's IG team.", user, s.cfg.Trust.Name))
	}
	if s.cfg.Homeserver.AdminToken == "" {
		return s.reply(ctx, c.evt, "I cannot sign anyone out: no Dendrite admin token is configured (homeserver.admin_token or CALDICOTT_ADMIN_TOKEN). Ask your Matrix operator.")
	}
	if !s.cfg.Policy.DryRun {
		if err := s.signOutEverywhere(ctx, user); err != nil {
			if isTransient(err) {
				return err
			}
			return s.reply(ctx, c.evt, fmt.Sprintf("Dendrite refused to sign out %s: %v. Nobody has been signed out.", user, err))
		}
	}
	if err := s.store.AddHold(ctx, store.Hold{UserID: user.String(), Reason: "their devices were signed out after a report of a lost device", HeldBy: c.evt.Sender.String()}); err != nil {
		return transientError{err}
	}
	if err := s.audit(ctx, c.evt.Sender.String(), "", "lost_device", fmt.Sprintf("all devices of %s signed out and %s held out of clinical rooms", user, user), map[string]any{"user_id": user.String()}); err != nil {
		return err
	}
	removed, err := s.removeFromClinicalRooms(ctx, user)
	if err != nil {
		return err
	}
	return s.reply(ctx, c.evt, fmt.Sprintf("Every device of %s has been signed out; Element deletes its local copy of their messages when it is signed out. They were removed from %d clinical room(s) and are held out of them. Give them new credentials through your usual process; once they have verified their identity, type `!policy release %s`.", user, removed, user))
}

// signOutEverywhere resets the user's password to a random one with
// logout_devices, which ends every session. Dendrite has no endpoint that
// ends sessions without a password change.
func (s *Service) signOutEverywhere(ctx context.Context, user id.UserID) error {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	u := strings.TrimSuffix(s.cfg.Homeserver.Address, "/") + "/_dendrite/admin/resetPassword/" + url.PathEscape(user.String())
	body, _ := json.Marshal(map[string]any{"password": hex.EncodeToString(b), "logout_devices": true})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	// The admin account's token, not the bot's: appservice users cannot be
	// Dendrite admins.
	req.Header.Set("Authorization", "Bearer "+s.cfg.Homeserver.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.as.HTTPClient.Do(req)
	if err != nil {
		return transientError{fmt.Errorf("reach Dendrite's admin API: %w", err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 {
		return transientError{fmt.Errorf("dendrite admin API answered %s", resp.Status)}
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&e)
		return fmt.Errorf("%s %s", resp.Status, e.Error)
	}
	return nil
}

// cmdRelease ends a hold.
func (s *Service) cmdRelease(ctx context.Context, c *commandContext) error {
	user, bad := s.parseUserArg(c.cmd.Args[0], "!policy release")
	if bad != "" {
		return s.reply(ctx, c.evt, bad)
	}
	err := s.store.ReleaseHold(ctx, user.String())
	if errors.Is(err, store.ErrNotFound) {
		return s.reply(ctx, c.evt, fmt.Sprintf("%s is not held out of clinical rooms.", user))
	}
	if err != nil {
		return transientError{err}
	}
	if err := s.audit(ctx, c.evt.Sender.String(), "", "release", user.String()+" released", map[string]any{"user_id": user.String()}); err != nil {
		return err
	}
	return s.reply(ctx, c.evt, fmt.Sprintf("%s may join clinical rooms again; their rooms' admins can invite them.", user))
}
