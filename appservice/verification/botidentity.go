//go:build goolm

package verification

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"maunium.net/go/mautrix/crypto"
)

const kvBotCrossSigning = "bot_cross_signing_seeds"

// ensureBotCrossSigning gives the bot its own cross-signing identity, so it
// can sign the master keys of members it has verified with its user-signing
// key. The private seeds are kept sealed with the pickle key in the
// database; the first upload needs no password (Dendrite asks for none
// when a user has no keys yet).
func (s *Verification) ensureBotCrossSigning(ctx context.Context) error {
	mach := s.crypto.helper.Machine()
	sealed, ok, err := s.Store.KV(ctx, kvBotCrossSigning)
	if err != nil {
		return fmt.Errorf("read bot cross-signing keys: %w", err)
	}
	if ok {
		var seeds crypto.CrossSigningSeeds
		if err := s.unseal(sealed, &seeds); err != nil {
			return fmt.Errorf("bot cross-signing keys: %w", err)
		}
		if err := mach.ImportCrossSigningKeys(seeds); err != nil {
			return fmt.Errorf("import bot cross-signing keys: %w", err)
		}
		published, err := s.publishedMasterKey(ctx, s.BotID.String())
		if err != nil {
			return err
		}
		if published == mach.CrossSigningKeys.MasterKey.PublicKey().String() {
			return nil
		}
		if published != "" {
			return errors.New("the homeserver shows a different cross-signing identity for the bot than the one in Caldicott's database; reset the bot's keys on the homeserver or restore the database")
		}
		// The homeserver lost them (a rebuilt Dendrite): publish again.
		return s.publishBotCrossSigning(ctx, mach.CrossSigningKeys)
	}
	keys, err := mach.GenerateCrossSigningKeys()
	if err != nil {
		return fmt.Errorf("generate bot cross-signing keys: %w", err)
	}
	if err := s.publishBotCrossSigning(ctx, keys); err != nil {
		return err
	}
	sealed, err = s.seal(mach.ExportCrossSigningKeys())
	if err != nil {
		return err
	}
	if err := s.Store.SetKV(ctx, kvBotCrossSigning, sealed); err != nil {
		return fmt.Errorf("save bot cross-signing keys: %w", err)
	}
	return nil
}

func (s *Verification) publishBotCrossSigning(ctx context.Context, keys *crypto.CrossSigningKeysCache) error {
	mach := s.crypto.helper.Machine()
	if err := mach.PublishCrossSigningKeys(ctx, keys, nil); err != nil {
		return fmt.Errorf("publish bot cross-signing keys: %w", err)
	}
	// The bot's own device is signed by its self-signing key, so members'
	// clients see a cross-signed device.
	if err := mach.SignOwnDevice(ctx, mach.OwnIdentity()); err != nil {
		return fmt.Errorf("sign the bot's device: %w", err)
	}
	s.Log.Info().Str("master_key", keys.MasterKey.PublicKey().String()).Msg("Published the bot's cross-signing identity")
	return nil
}

// seal encrypts secrets for the kv table with AES-GCM under the pickle key.
func (s *Verification) seal(v any) (string, error) { return sealWith(s.pickleKey(), v) }

func (s *Verification) unseal(sealed string, v any) error {
	return unsealWith(s.pickleKey(), sealed, v)
}

// sealWith is seal with the pickle key given, for the operator's commands
// that run without the service.
func sealWith(key []byte, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	gcm, err := aeadFor(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(gcm.Seal(nonce, nonce, plain, nil)), nil
}

func unsealWith(key []byte, sealed string, v any) error {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return fmt.Errorf("sealed value is not base64: %w", err)
	}
	gcm, err := aeadFor(key)
	if err != nil {
		return err
	}
	if len(raw) < gcm.NonceSize() {
		return errors.New("sealed value too short")
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], nil)
	if err != nil {
		return errors.New("sealed value does not open with this as_token (was the token changed?)")
	}
	return json.Unmarshal(plain, v)
}

func aeadFor(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
