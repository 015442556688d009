package executor

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/caldicott/caldicott/internal/retry"
	"maunium.net/go/mautrix/id"
)

// signOutEverywhere resets the user's password to a random one with
// logout_devices, which ends every session. Dendrite has no endpoint that
// ends sessions without a password change. Doing it twice only signs out
// again, so a resumed sign-out needs no check.
func (e *Executor) signOutEverywhere(ctx context.Context, user id.UserID) error {
	if e.cfg.AdminToken == "" {
		return fmt.Errorf("no Dendrite admin token is configured (homeserver.admin_token or CALDICOTT_ADMIN_TOKEN)")
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	u := strings.TrimSuffix(e.cfg.HomeserverURL, "/") + "/_dendrite/admin/resetPassword/" + url.PathEscape(user.String())
	body, _ := json.Marshal(map[string]any{"password": hex.EncodeToString(b), "logout_devices": true})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	// The admin account's token, not the bot's: appservice users cannot be
	// Dendrite admins.
	req.Header.Set("Authorization", "Bearer "+e.cfg.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return retry.Transient(fmt.Errorf("reach Dendrite's admin API: %w", err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 {
		return retry.Transient(fmt.Errorf("dendrite admin API answered %s", resp.Status))
	}
	if resp.StatusCode != http.StatusOK {
		var body struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&body)
		return fmt.Errorf("%s %s", resp.Status, body.Error)
	}
	return nil
}
