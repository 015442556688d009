//go:build goolm

package appservice

import (
	"context"
	"fmt"
	"strings"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// ensureAttestationRoom finds or creates this trust's attestation room
// (#<attestation_alias>:<own server>), where only the bot may post, and
// publishes any attestation of the trust's own staff not there yet.
func (s *Service) ensureAttestationRoom(ctx context.Context) error {
	if !s.canSignUsers() {
		return nil // no identity to sign with; logged at start-up
	}
	alias := id.RoomAlias("#" + s.cfg.Federation.AttestationAlias + ":" + s.cfg.Homeserver.Domain)
	room, err := s.joinOrCreate(ctx, alias, s.createAttestationRoom)
	if err != nil {
		return err
	}
	s.crypto.mu.Lock()
	s.crypto.attestRoom = room
	s.crypto.mu.Unlock()
	return s.backfillAttestations(ctx, room)
}

func (s *Service) createAttestationRoom(ctx context.Context, localpart string) (id.RoomID, error) {
	only := 100
	acl := policy.RequiredACL(s.req)
	resp, err := s.bot.CreateRoom(ctx, &mautrix.ReqCreateRoom{
		RoomAliasName: localpart,
		Name:          "Caldicott identity confirmations — " + s.cfg.Trust.Name,
		Topic:         "Identities " + s.cfg.Trust.Name + " has confirmed, signed by its Caldicott, for the other trusts' Caldicott bots. Nothing here is for people to read or write.",
		Preset:        "public_chat",
		PowerLevelOverride: &event.PowerLevelsEventContent{
			Users: map[id.UserID]int{s.botID: 100}, EventsDefault: 100, StateDefaultPtr: &only,
			InvitePtr: &only, KickPtr: &only, BanPtr: &only, RedactPtr: &only,
		},
		InitialState: []*event.Event{
			{Type: event.StateHistoryVisibility, Content: event.Content{Raw: map[string]any{"history_visibility": "shared"}}},
			{Type: event.StateServerACL, Content: event.Content{Raw: map[string]any{"allow": acl.Allow, "deny": []string{}, "allow_ip_literals": acl.AllowIPLiterals}}},
		},
	})
	if err != nil {
		return "", fmt.Errorf("create the attestation room: %w", err)
	}
	if err := s.audit(ctx, s.botID.String(), resp.RoomID, "create_attestation_room", "publishes this trust's identity confirmations to the federation", nil); err != nil {
		return "", err
	}
	return resp.RoomID, nil
}

// backfillAttestations publishes own-staff attestations missing from the
// room (made while it was unreachable, or before it existed).
func (s *Service) backfillAttestations(ctx context.Context, room id.RoomID) error {
	events, err := s.publishedAttestations(ctx, room)
	if err != nil {
		return err
	}
	published := map[string]string{}
	for _, evt := range events {
		if k, ok := evt.Content.Raw["master_key"].(string); ok {
			published[strings.TrimPrefix(*evt.StateKey, "_")] = k
		}
	}
	all, err := s.store.Attestations(ctx)
	if err != nil {
		return err
	}
	recorded := map[string]bool{}
	for _, a := range all {
		recorded[a.UserID] = true
		if published[a.UserID] != a.MasterKey {
			if err := s.publishAttestation(ctx, a); err != nil {
				return err
			}
		}
	}
	// Withdrawn while the room could not be reached.
	for user, key := range published {
		if key != "" && !recorded[user] {
			if err := s.withdrawPublished(ctx, user); err != nil {
				return err
			}
		}
	}
	return nil
}

// withdrawPublished empties a person's published attestation, which the
// other trusts take as its withdrawal.
func (s *Service) withdrawPublished(ctx context.Context, user string) error {
	if s.crypto == nil || id.UserID(user).Homeserver() != s.cfg.Homeserver.Domain {
		return nil
	}
	s.crypto.mu.Lock()
	room := s.crypto.attestRoom
	s.crypto.mu.Unlock()
	if room == "" {
		return nil
	}
	if _, err := s.bot.SendStateEvent(ctx, room, attestationEventType, attestationStateKey(user), struct{}{}); err != nil {
		return fmt.Errorf("withdraw the attestation of %s: %w", user, err)
	}
	return nil
}

// publishAttestation signs one attestation of the trust's own staff with
// the bot's master key and posts it for the other trusts. Attestations of
// other trusts' staff are theirs to publish.
func (s *Service) publishAttestation(ctx context.Context, a store.Attestation) error {
	if s.crypto == nil {
		return nil // no encryption device, so no identity to sign with
	}
	s.crypto.mu.Lock()
	room := s.crypto.attestRoom
	s.crypto.mu.Unlock()
	if room == "" || id.UserID(a.UserID).Homeserver() != s.cfg.Homeserver.Domain {
		return nil
	}
	content := attestationContent(a, s.cfg.Trust.Name)
	master := s.crypto.helper.Machine().CrossSigningKeys.MasterKey
	sig, err := master.SignJSON(content)
	if err != nil {
		return fmt.Errorf("sign the attestation of %s: %w", a.UserID, err)
	}
	content.Signatures = map[string]map[string]string{s.botID.String(): {"ed25519:" + master.PublicKey().String(): sig}}
	if _, err := s.bot.SendStateEvent(ctx, room, attestationEventType, attestationStateKey(a.UserID), content); err != nil {
		return fmt.Errorf("publish the attestation of %s: %w", a.UserID, err)
	}
	zerolog.Ctx(ctx).Debug().Str("user_id", a.UserID).Msg("Attestation published to the federation")
	return nil
}

// attestationContent is the signed body published for one attestation.
func attestationContent(a store.Attestation, trust string) publishedAttestation {
	return publishedAttestation{UserID: a.UserID, MasterKey: a.MasterKey, Method: a.Method, AttestedAt: a.At.UnixMilli(), Trust: trust}
}
