//go:build goolm

package verification

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// EnsureAttestationRoom finds or creates this trust's attestation room
// (#<attestation_alias>:<own server>), where only the bot may post, and
// publishes any attestation of the trust's own staff not there yet.
func (s *Verification) EnsureAttestationRoom(ctx context.Context) error {
	if !s.canSignUsers() {
		return nil // no identity to sign with; logged at start-up
	}
	alias := id.RoomAlias("#" + s.Cfg.Federation.AttestationAlias + ":" + s.Cfg.Homeserver.Domain)
	room, err := s.JoinOrCreate(ctx, alias, s.createAttestationRoom)
	if err != nil {
		return err
	}
	s.crypto.mu.Lock()
	s.crypto.attestRoom = room
	s.crypto.mu.Unlock()
	return s.backfillAttestations(ctx, room)
}

func (s *Verification) createAttestationRoom(ctx context.Context, localpart string) (id.RoomID, error) {
	acl := policy.RequiredACL(s.Requirements())
	plan := policy.BotRoomPlan(localpart, "Caldicott identity confirmations — "+s.Cfg.Trust.Name,
		"Identities "+s.Cfg.Trust.Name+" has confirmed, signed by its Caldicott, for the other trusts' Caldicott bots. Nothing here is for people to read or write.",
		"public_chat", nil, true, []policy.StateEvent{
			{Type: "m.room.history_visibility", Content: map[string]any{"history_visibility": "shared"}},
			{Type: "m.room.server_acl", Content: map[string]any{"allow": acl.Allow, "deny": []string{}, "allow_ip_literals": acl.AllowIPLiterals}},
		}, s.Requirements())
	room, err := s.CreateBotRoom(ctx, plan, "publishes this trust's identity confirmations to the federation")
	if err != nil {
		return "", fmt.Errorf("create the attestation room: %w", err)
	}
	return room, nil
}

// backfillAttestations publishes own-staff attestations missing from the
// room (made while it was unreachable, or before it existed).
func (s *Verification) backfillAttestations(ctx context.Context, room id.RoomID) error {
	events, err := s.publishedAttestations(ctx, room)
	if err != nil {
		return err
	}
	published := map[string]string{}
	// After `caldicott keys reset`, every confirmation not signed by the
	// bot's new master key is signed again with it: the other trusts read
	// them again once they accept the new key, and seeing them is how
	// their bots notice the new identity and tell their IG admins.
	resign, _, err := s.Store.KV(ctx, kvResignAttestations)
	if err != nil {
		return err
	}
	signed := map[string]bool{}
	current := "ed25519:" + s.crypto.helper.Machine().CrossSigningKeys.MasterKey.PublicKey().String()
	for _, evt := range events {
		if k, ok := evt.Content.Raw["master_key"].(string); ok {
			user := strings.TrimPrefix(*evt.StateKey, "_")
			published[user] = k
			sigs, _ := evt.Content.Raw["signatures"].(map[string]any)
			mine, _ := sigs[s.BotID.String()].(map[string]any)
			_, signed[user] = mine[current]
		}
	}
	all, err := s.Store.Attestations(ctx)
	if err != nil {
		return err
	}
	recorded := map[string]bool{}
	for _, a := range all {
		recorded[a.UserID] = true
		if published[a.UserID] != a.MasterKey || (resign != "" && !signed[a.UserID]) {
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
	if resign != "" {
		return s.Store.SetKV(ctx, kvResignAttestations, "")
	}
	return nil
}

// withdrawPublished empties a person's published attestation, which the
// other trusts take as its withdrawal.
func (s *Verification) withdrawPublished(ctx context.Context, user string) error {
	if s.crypto == nil || id.UserID(user).Homeserver() != s.Cfg.Homeserver.Domain {
		return nil
	}
	s.crypto.mu.Lock()
	room := s.crypto.attestRoom
	s.crypto.mu.Unlock()
	if room == "" {
		return nil
	}
	d := policy.PublishState(policy.RuleAttestation, AttestationEventType.Type, attestationStateKey(user), map[string]any{}, "withdraw the confirmation of "+user, "confirmation withdrawn")
	return s.publish(ctx, room, d)
}

// publishAttestation signs one attestation of the trust's own staff with
// the bot's master key and posts it for the other trusts. Attestations of
// other trusts' staff are theirs to publish.
func (s *Verification) publishAttestation(ctx context.Context, a store.Attestation) error {
	if s.crypto == nil {
		return nil // no encryption device, so no identity to sign with
	}
	s.crypto.mu.Lock()
	room := s.crypto.attestRoom
	s.crypto.mu.Unlock()
	if room == "" || id.UserID(a.UserID).Homeserver() != s.Cfg.Homeserver.Domain {
		return nil
	}
	content := attestationContent(a, s.Cfg.Trust.Name)
	master := s.crypto.helper.Machine().CrossSigningKeys.MasterKey
	sig, err := master.SignJSON(content)
	if err != nil {
		return fmt.Errorf("sign the attestation of %s: %w", a.UserID, err)
	}
	content.Signatures = map[string]map[string]string{s.BotID.String(): {"ed25519:" + master.PublicKey().String(): sig}}
	raw, err := json.Marshal(content)
	if err != nil {
		return fmt.Errorf("encode the attestation of %s: %w", a.UserID, err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return fmt.Errorf("encode the attestation of %s: %w", a.UserID, err)
	}
	d := policy.PublishState(policy.RuleAttestation, AttestationEventType.Type, attestationStateKey(a.UserID), body, "publish the confirmation of "+a.UserID, "identity confirmed by "+a.AttestedBy)
	if err := s.publish(ctx, room, d); err != nil {
		return err
	}
	zerolog.Ctx(ctx).Debug().Str("user_id", a.UserID).Msg("Attestation published to the federation")
	return nil
}

// attestationContent is the signed body published for one attestation.
func attestationContent(a store.Attestation, trust string) publishedAttestation {
	return publishedAttestation{UserID: a.UserID, MasterKey: a.MasterKey, Method: a.Method, AttestedAt: a.At.UnixMilli(), Trust: trust}
}

// publish sets state in the attestation room through the executor; a
// refusal is an error here, since the federation must not miss it.
func (s *Verification) publish(ctx context.Context, room id.RoomID, d policy.Decision) error {
	res, err := s.Exec.Execute(ctx, room, s.BotID.String(), d)
	if err != nil {
		return err
	}
	if len(res.Failures) > 0 {
		return fmt.Errorf("%s", strings.Join(res.Failures, " "))
	}
	return nil
}
