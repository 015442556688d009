//go:build goolm

package verification

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/mxlog"
	"github.com/caldicott/caldicott/internal/retry"
)

// E2EEAvailable says whether this build has end-to-end encryption (goolm).
const E2EEAvailable = true

// e2ee is the bot's own encryption device: logged in through the appservice
// login, keys in Caldicott's database, kept current by its own /sync
// (Dendrite v0.15.2 pushes no to-device messages or device lists to
// appservices). Room events still arrive by appservice transactions; this
// device decrypts the encrypted ones and encrypts replies in encrypted rooms.
type e2ee struct {
	cli    *mautrix.Client
	helper *cryptohelper.CryptoHelper
	// late holds events that came before their room key (Decrypt).
	late *lateKeys

	mu sync.Mutex
	// attestRoom is this trust's attestation room, where the bot publishes.
	attestRoom id.RoomID
}

// pickleKey protects the bot's private keys at rest; derived from the
// as_token, a secret Caldicott already holds. Rotating the token means a new
// bot device.
func (s *Verification) pickleKey() []byte {
	return pickleKeyFor(s.Cfg.AppService.ASToken)
}

func (s *Verification) StartE2EE(ctx context.Context) error {
	cli, err := mautrix.NewClient(s.Cfg.Homeserver.Address, s.BotID, s.Cfg.AppService.ASToken)
	if err != nil {
		return fmt.Errorf("E2EE client: %w", err)
	}
	cli.Log = s.Log.With().Str("component", "e2ee").Logger()
	mxlog.OmitBodies(cli)
	cli.DefaultHTTPRetries = 0
	helper, err := cryptohelper.NewCryptoHelper(cli, s.pickleKey(), s.Store.DB())
	if err != nil {
		return fmt.Errorf("E2EE helper: %w", err)
	}
	helper.LoginAs = &mautrix.ReqLogin{
		Type:                     mautrix.AuthTypeAppservice,
		Identifier:               mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: s.BotID.Localpart()},
		InitialDeviceDisplayName: "Caldicott",
	}
	if err := helper.Init(ctx); err != nil {
		return fmt.Errorf("E2EE init: %w", err)
	}
	cli.Crypto = helper
	late := newLateKeys(s.Now, LateKeysMax, LateKeysTTL)
	mach := helper.Machine()
	mach.SessionReceived = late.sessionHook(mach.SessionReceived)
	syncer := cli.Syncer.(mautrix.ExtensibleSyncer)
	syncer.OnSync(func(ctx context.Context, resp *mautrix.RespSync, since string) bool {
		s.seeInvites(resp)
		late.expire()
		if since == "" {
			return true
		}
		for _, u := range resp.DeviceLists.Changed {
			select {
			case s.KeysChanged <- u.String():
			default: // the periodic check catches up
			}
		}
		return true
	})
	s.crypto = &e2ee{cli: cli, helper: helper, late: late}
	s.Exec.SetEncrypter(s.crypto)
	for _, t := range []event.Type{event.ToDeviceVerificationRequest, event.ToDeviceVerificationReady, event.ToDeviceVerificationStart,
		event.ToDeviceVerificationAccept, event.ToDeviceVerificationKey, event.ToDeviceVerificationMAC,
		event.ToDeviceVerificationDone, event.ToDeviceVerificationCancel} {
		syncer.OnEventType(t, s.onToDeviceVerification)
	}
	if err := s.ensureBotCrossSigning(ctx); err != nil {
		// Encryption still works; only emoji verification is unavailable.
		s.Log.Error().Err(err).Msg("The bot has no cross-signing identity: emoji verification is off")
	}
	go func() {
		delay := retry.Delay{Backoff: syncBackoff}
		for ctx.Err() == nil {
			err := s.syncPaced(ctx, cli)
			if ctx.Err() != nil {
				return
			}
			s.Log.Warn().Err(err).Dur("retry_in", delay.Next()).Msg("E2EE sync stopped; restarting")
			if !delay.Wait(ctx) {
				return
			}
		}
	}()
	s.Log.Info().Stringer("device_id", cli.DeviceID).Msg("End-to-end encryption ready")
	return nil
}

// Decrypt returns the plaintext of an encrypted event, waiting briefly for
// its session key (sent to the bot's device as a to-device message, which
// may arrive after the appservice transaction). When the key has still not
// come, the error is a *SessionLateError, whose Await keeps the event until
// it does.
func (s *Verification) Decrypt(ctx context.Context, evt *event.Event) (*event.Event, error) {
	if s.crypto == nil {
		return nil, fmt.Errorf("this Caldicott has no encryption device")
	}
	if evt.Content.Parsed == nil {
		if err := evt.Content.ParseRaw(evt.Type); err != nil {
			return nil, err
		}
	}
	content := evt.Content.AsEncrypted()
	s.crypto.helper.WaitForSession(ctx, evt.RoomID, content.SenderKey, content.SessionID, 10*time.Second)
	plain, err := s.crypto.helper.Decrypt(ctx, evt)
	if errors.Is(err, crypto.NoSessionFound) {
		mach := s.crypto.helper.Machine()
		return nil, &SessionLateError{err: err, evt: evt, room: evt.RoomID, session: content.SessionID, set: s.crypto.late,
			arrived: func() bool {
				igs, err := mach.CryptoStore.GetGroupSession(context.WithoutCancel(ctx), evt.RoomID, content.SessionID)
				return err == nil && igs != nil
			}}
	}
	return plain, err
}

// syncPaced keeps the encryption device's /sync going as mautrix-go's
// SyncWithContext does (the token saved before the response is processed,
// so a bad event cannot wedge it), but paced like the device-list watch
// (see activity.go): a long poll only while the rooms are quiet, otherwise
// a poll after each busyGap. Room keys and verification messages
// then wait up to that long while people are busy; Decrypt waits longer.
// A failed request is retried here with backoff; only the store's errors
// end it.
func (s *Verification) syncPaced(ctx context.Context, cli *mautrix.Client) error {
	since, err := cli.Store.LoadNextBatch(ctx, cli.UserID)
	if err != nil {
		return fmt.Errorf("load sync token: %w", err)
	}
	filterID, err := cli.Store.LoadFilterID(ctx, cli.UserID)
	if err != nil {
		return fmt.Errorf("load sync filter: %w", err)
	}
	if filterID == "" {
		filter, err := cli.CreateFilter(ctx, cli.Syncer.GetFilterJSON(cli.UserID))
		if err != nil {
			return fmt.Errorf("create sync filter: %w", err)
		}
		filterID = filter.FilterID
		if err := cli.Store.SaveFilterID(ctx, cli.UserID, filterID); err != nil {
			return fmt.Errorf("save sync filter: %w", err)
		}
	}
	return s.followSync(ctx, "E2EE sync", 30*time.Second, since,
		func(ctx context.Context, since string, ms int) (*mautrix.RespSync, error) {
			if since == "" {
				ms = 0 // the first sync answers at once
			}
			return cli.FullSyncRequest(ctx, mautrix.ReqSync{Timeout: ms, Since: since, FilterID: filterID, SetPresence: cli.SyncPresence})
		},
		func(resp *mautrix.RespSync, since string) error {
			if err := cli.Store.SaveNextBatch(ctx, cli.UserID, resp.NextBatch); err != nil {
				return fmt.Errorf("save sync token: %w", err)
			}
			if err := cli.Syncer.ProcessResponse(ctx, resp, since); err != nil {
				return fmt.Errorf("process sync: %w", err)
			}
			return nil
		})
}
