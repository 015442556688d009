//go:build goolm

package verification

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

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/crypto/olm"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/mxlog"
	"github.com/caldicott/caldicott/store"
)

// kvResignAttestations, when set, has the next start sign the published
// confirmations again with the bot's new master key (set by a reset).
const kvResignAttestations = "resign_attestations"

// ErrBotIdentityIntact: the cross-signing keys in the database are the
// ones the homeserver shows; there is nothing to reset.
var ErrBotIdentityIntact = errors.New("the bot's cross-signing keys are intact")

// BotReset is what a reset of the bot's identity did.
type BotReset struct {
	DeviceID id.DeviceID
	// Previous is the master key the homeserver showed before ("" if none).
	Previous string
	// MasterKey is the bot's new master key.
	MasterKey string
}

// ResetBotIdentity gives the bot new cross-signing keys when the ones the
// homeserver shows for it are no longer in Caldicott's database (lost with
// it, or sealed under an old as_token), which leaves the bot unable to
// sign members' keys: emoji verification is off and other trusts cannot
// check its confirmations. Dendrite asks for a password before it replaces
// a user's cross-signing keys, and an appservice's bot has none, so the
// bot is first given a random one through Dendrite's admin API
// (homeserver.admin_token; its devices stay signed in) that is used once,
// for that question, and forgotten. Run it with Caldicott stopped: it uses
// the bot's encryption device.
func ResetBotIdentity(ctx context.Context, cfg *config.Config, st *store.Store, log zerolog.Logger) (BotReset, error) {
	var r BotReset
	if cfg.Homeserver.AdminToken == "" {
		return r, errors.New("homeserver.admin_token (or CALDICOTT_ADMIN_TOKEN) is needed: Dendrite only lets the bot replace its keys after a password check, which the admin API makes possible")
	}
	helper, err := openBotDevice(ctx, cfg, st, log)
	if err != nil {
		return r, err
	}
	// Not helper.Close: it would close the store's database, which the
	// caller still uses; nothing here runs in the background.
	mach := helper.Machine()
	r.DeviceID = mach.Client.DeviceID
	botID := mach.Client.UserID
	if r.Previous, err = publishedMaster(ctx, mach.Client); err != nil {
		return r, err
	}
	if intact(ctx, cfg, st, r.Previous) {
		return r, fmt.Errorf("%w: the homeserver shows %s, the key Caldicott holds", ErrBotIdentityIntact, r.Previous)
	}
	keys, err := mach.GenerateCrossSigningKeys()
	if err != nil {
		return r, fmt.Errorf("generate the bot's cross-signing keys: %w", err)
	}
	password, err := setRandomPassword(ctx, cfg, botID)
	if err != nil {
		return r, err
	}
	uia := func(resp *mautrix.RespUserInteractive) any {
		if !resp.HasSingleStageFlow(mautrix.AuthTypePassword) {
			return nil
		}
		return &mautrix.ReqUIAuthLogin{BaseAuthData: mautrix.BaseAuthData{Type: mautrix.AuthTypePassword, Session: resp.Session}, User: botID.Localpart(), Password: password}
	}
	if err := mach.PublishCrossSigningKeys(ctx, keys, uia); err != nil {
		return r, fmt.Errorf("publish the bot's new cross-signing keys: %w", err)
	}
	if err := mach.SignOwnDevice(ctx, mach.OwnIdentity()); err != nil {
		return r, fmt.Errorf("sign the bot's device with its new keys: %w", err)
	}
	r.MasterKey = keys.MasterKey.PublicKey().String()
	sealed, err := sealWith(pickleKeyFor(cfg.AppService.ASToken), mach.ExportCrossSigningKeys())
	if err != nil {
		return r, err
	}
	if err := st.SetKV(ctx, kvBotCrossSigning, sealed); err != nil {
		return r, fmt.Errorf("save the bot's new cross-signing keys (they are published: run this again): %w", err)
	}
	if err := st.SetKV(ctx, kvResignAttestations, r.MasterKey); err != nil {
		return r, fmt.Errorf("mark the confirmations to be signed again: %w", err)
	}
	return r, nil
}

// openBotDevice loads the bot's encryption device from the database as the
// service does at start (a new device if the database has none).
func openBotDevice(ctx context.Context, cfg *config.Config, st *store.Store, log zerolog.Logger) (*cryptohelper.CryptoHelper, error) {
	botID := id.UserID(cfg.BotUserID())
	cli, err := mautrix.NewClient(cfg.Homeserver.Address, botID, cfg.AppService.ASToken)
	if err != nil {
		return nil, fmt.Errorf("E2EE client: %w", err)
	}
	cli.Log = log
	cli.DefaultHTTPRetries = 0
	// The reset sends a one-time password in a body: never logged.
	mxlog.OmitBodies(cli)
	helper, err := cryptohelper.NewCryptoHelper(cli, pickleKeyFor(cfg.AppService.ASToken), st.DB())
	if err != nil {
		return nil, fmt.Errorf("E2EE helper: %w", err)
	}
	helper.LoginAs = &mautrix.ReqLogin{
		Type:                     mautrix.AuthTypeAppservice,
		Identifier:               mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: botID.Localpart()},
		InitialDeviceDisplayName: "Caldicott",
	}
	if err := helper.Init(ctx); err != nil {
		return nil, fmt.Errorf("load the bot's encryption device: %w", err)
	}
	return helper, nil
}

// publishedMaster is the bot's master key as the homeserver shows it.
func publishedMaster(ctx context.Context, cli *mautrix.Client) (string, error) {
	resp, err := cli.QueryKeys(ctx, &mautrix.ReqQueryKeys{DeviceKeys: mautrix.DeviceKeysRequest{cli.UserID: {}}})
	if err != nil {
		return "", fmt.Errorf("read the bot's published keys: %w", err)
	}
	var key string
	for _, k := range resp.MasterKeys[cli.UserID].Keys {
		key = k.String() // a master key holds exactly one
	}
	return key, nil
}

// intact: the database holds the private keys of the master key shown.
func intact(ctx context.Context, cfg *config.Config, st *store.Store, published string) bool {
	sealed, ok, err := st.KV(ctx, kvBotCrossSigning)
	if err != nil || !ok || published == "" {
		return false
	}
	var seeds crypto.CrossSigningSeeds
	if unsealWith(pickleKeyFor(cfg.AppService.ASToken), sealed, &seeds) != nil {
		return false
	}
	pub, err := masterPublicKey(seeds)
	return err == nil && pub == published
}

// setRandomPassword gives the bot a random password through Dendrite's
// admin API, without signing out its devices, and returns it.
func setRandomPassword(ctx context.Context, cfg *config.Config, bot id.UserID) (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	password := hex.EncodeToString(b)
	u := strings.TrimSuffix(cfg.Homeserver.Address, "/") + "/_dendrite/admin/resetPassword/" + url.PathEscape(bot.String())
	body, _ := json.Marshal(map[string]any{"password": password, "logout_devices": false})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.Homeserver.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("reach Dendrite's admin API: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return "", fmt.Errorf("dendrite's admin API refused to set the bot's password (is homeserver.admin_token an admin's?): %s %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return password, nil
}

// masterPublicKey is the public master key of sealed seeds.
func masterPublicKey(seeds crypto.CrossSigningSeeds) (string, error) {
	k, err := olm.NewPKSigningFromSeed(seeds.MasterKey)
	if err != nil {
		return "", err
	}
	return k.PublicKey().String(), nil
}
