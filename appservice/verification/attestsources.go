package verification

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// attestSources are the other trusts' attestation rooms the bot has joined,
// each with the server whose staff it may vouch for.
type attestSources struct {
	mu    sync.Mutex
	rooms map[id.RoomID]string
}

func (a *attestSources) server(room id.RoomID) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.rooms[room]
	return s, ok
}

// roomsOf are the followed rooms that speak for server.
func (a *attestSources) roomsOf(server string) []id.RoomID {
	a.mu.Lock()
	defer a.mu.Unlock()
	var rooms []id.RoomID
	for room, s := range a.rooms {
		if s == server {
			rooms = append(rooms, room)
		}
	}
	return rooms
}

// JoinAttestationRooms joins each other trust's attestation room not yet
// joined, and reads the attestations already there. A trust whose room
// cannot be reached is tried again at the next verification check.
func (s *Verification) JoinAttestationRooms(ctx context.Context) {
	for _, alias := range s.Cfg.Federation.AttestationSources() {
		_, server, _ := strings.Cut(strings.TrimPrefix(alias, "#"), ":")
		if server == s.Cfg.Homeserver.Domain || len(s.attest.roomsOf(server)) > 0 {
			continue
		}
		log := s.Log.With().Str("attestation_room", alias).Logger()
		// Resolve first (a read): only a room that exists is joined, so an
		// unreachable trust does not fill the audit log with failed joins.
		if _, err := s.Bot.ResolveAlias(ctx, id.RoomAlias(alias)); err != nil {
			log.Debug().Err(err).Msg("Other trust's attestation room not reachable yet")
			continue
		}
		// By alias: a room on another server is joined through it.
		room, err := s.JoinBotRoom(ctx, alias, "another trust's identity confirmations")
		if err != nil {
			log.Debug().Err(err).Msg("Other trust's attestation room not joined yet")
			continue
		}
		s.attest.mu.Lock()
		s.attest.rooms[room] = server
		s.attest.mu.Unlock()
		log.Info().Stringer("room_id", room).Msg("Following the other trust's attestations")
		if err := s.readAttestations(ctx, room, server); err != nil {
			log.Warn().Err(err).Msg("Could not read the other trust's attestations")
		}
	}
}

// publishedAttestations are the attestation state events of a room.
func (s *Verification) publishedAttestations(ctx context.Context, room id.RoomID) ([]*event.Event, error) {
	var state []*event.Event
	if err := s.Facts.State(ctx, room, &state); err != nil {
		return nil, err
	}
	out := state[:0]
	for _, evt := range state {
		if evt.Type.Type == AttestationEventType.Type && evt.StateKey != nil {
			out = append(out, evt)
		}
	}
	return out, nil
}

// readAttestations takes every attestation already published in a room.
func (s *Verification) readAttestations(ctx context.Context, room id.RoomID, server string) error {
	published, err := s.publishedAttestations(ctx, room)
	if err != nil {
		return err
	}
	for _, evt := range published {
		if err := s.acceptFederatedAttestation(ctx, server, evt); err != nil {
			return err
		}
	}
	return nil
}

// HandleAttestationEvent takes a newly published attestation from a room
// the bot follows; the same event type anywhere else is ignored.
func (s *Verification) HandleAttestationEvent(ctx context.Context, evt *event.Event) error {
	server, ok := s.attest.server(evt.RoomID)
	if !ok || evt.StateKey == nil {
		return nil
	}
	return s.acceptFederatedAttestation(ctx, server, evt)
}

// acceptFederatedAttestation records another trust's confirmation of one
// of its staff, after checking it cryptographically against that trust's
// bot's master key (pinned in config, or on first use).
func (s *Verification) acceptFederatedAttestation(ctx context.Context, server string, evt *event.Event) error {
	log := zerolog.Ctx(ctx).With().Str("publisher", evt.Sender.String()).Str("user_id", evt.GetStateKey()).Logger()
	raw := evt.Content.VeryRaw
	if len(raw) == 0 || string(raw) == "{}" {
		return s.acceptWithdrawal(ctx, server, evt)
	}
	// Already recorded from this publisher (a re-read after a restart):
	// nothing to check again — unless the publisher signed it again with
	// another key (its operator reset its identity), which must be checked
	// so the IG team hears of the new identity.
	var seen publishedAttestation
	if json.Unmarshal(raw, &seen) == nil && seen.UserID != "" {
		if old, err := s.Store.AttestationOf(ctx, seen.UserID); err == nil && old.MasterKey == seen.MasterKey && old.AttestedBy == evt.Sender.String() && s.signedByPinned(ctx, evt.Sender, seen) {
			return nil
		}
	}
	signer, err := s.trustedBotKey(ctx, evt.Sender)
	if err != nil {
		if retry.IsTransient(err) {
			return err
		}
		log.Warn().Err(err).Msg("Attestation refused")
		return s.Audit(ctx, evt.Sender.String(), evt.RoomID, "refused.attestation", err.Error(), map[string]any{"user_id": evt.GetStateKey()})
	}
	p, err := checkPublishedAttestation(raw, evt.GetStateKey(), evt.Sender, server, signer)
	if err != nil {
		log.Warn().Err(err).Msg("Attestation refused")
		return s.Audit(ctx, evt.Sender.String(), evt.RoomID, "refused.attestation", err.Error(), map[string]any{"user_id": evt.GetStateKey()})
	}
	method := p.Method
	if p.Trust != "" {
		method += ", by " + p.Trust
	}
	if err := s.Store.SaveAttestation(ctx, store.Attestation{UserID: p.UserID, MasterKey: p.MasterKey, Method: method, AttestedBy: evt.Sender.String(), Note: "published by " + server}); err != nil {
		return err
	}
	if err := s.Audit(ctx, evt.Sender.String(), evt.RoomID, "attest.federated",
		fmt.Sprintf("identity of %s confirmed by %s (%s); master key %s", p.UserID, server, p.Method, p.MasterKey), map[string]any{"user_id": p.UserID}); err != nil {
		return err
	}
	return s.CheckIdentities(ctx, p.UserID)
}

var CommandTrustKey = commands.Def[*Verification]{
	CommandSpec: policy.CommandSpec{
		Name: "trust-key", Usage: "!policy trust-key @bot:server <fingerprint>",
		Summary: "IG admins: accept another trust's Caldicott's new identity, after checking its fingerprint with " +
			"that trust's IG team.",
		MinArgs: 2, MaxArgs: -1, Place: policy.InManagement, Needs: policy.IGAdmin,
	},
	Doc: "Accepts another trust's Caldicott's new identity after you have checked its fingerprint with that trust's " +
		"IG team (the management room is told when it changes). It must match what that bot publishes; its trust's " +
		"confirmations are then read again.",
	Run: (*Verification).cmdTrustKey,
}

// cmdTrustKey pins another trust's bot to the master key it now publishes,
// once an IG admin has checked the fingerprint with that trust, and reads
// that trust's confirmations again. A key pinned in config is the
// operator's and is not overridden here.
func (s *Verification) cmdTrustKey(ctx context.Context, c *commands.Call) error {
	bot, bad := s.ParseUserArg(c.Args[0], "!policy trust-key")
	if bad != "" {
		return s.Reply(ctx, c.Evt, bad)
	}
	if bot.Homeserver() == s.Cfg.Homeserver.Domain {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("%s is on this trust's own server; only other trusts' Caldicott bots are pinned.", bot))
	}
	if _, inConfig := s.Cfg.Federation.BotKeys[bot.String()]; inConfig {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("%s is pinned in the configuration (federation.bot_keys); change it there and restart me.", bot))
	}
	typed := strings.Join(c.Args[1:], "")
	published, err := s.publishedMasterKey(ctx, bot.String())
	if err != nil {
		if retry.IsTransient(err) {
			return err
		}
		return s.Reply(ctx, c.Evt, fmt.Sprintf("I could not read the keys of %s: %s", bot, executor.MatrixReason(err)))
	}
	if published == "" || typed != published {
		if err := s.Audit(ctx, c.Evt.Sender.String(), "", "refused.trust_key", "fingerprint does not match the published master key of "+bot.String(), nil); err != nil {
			return err
		}
		return s.Reply(ctx, c.Evt, fmt.Sprintf("That fingerprint does not match the identity %s publishes (%s). Nothing was changed.", bot, kit.OrWord(policy.Fingerprint(published), "none")))
	}
	if err := s.Store.SetKV(ctx, kvPinnedBotKey+bot.String(), published); err != nil {
		return err
	}
	if err := s.Audit(ctx, c.Evt.Sender.String(), "", "pin_bot_key", fmt.Sprintf("%s's identity %s accepted by %s", bot, published, c.Evt.Sender), nil); err != nil {
		return err
	}
	if err := s.Reply(ctx, c.Evt, fmt.Sprintf("Recorded: I now trust %s's identity %s, and am reading its trust's confirmations again.", bot, policy.Fingerprint(published))); err != nil {
		return err
	}
	for _, room := range s.attest.roomsOf(bot.Homeserver()) {
		if err := s.readAttestations(ctx, room, bot.Homeserver()); err != nil {
			return err
		}
	}
	return nil
}

// acceptWithdrawal forgets a confirmation its publisher has withdrawn (the
// person left or was suspended at their trust). Only the bot that gave it
// can take it back; the person then falls short like anyone unconfirmed.
func (s *Verification) acceptWithdrawal(ctx context.Context, server string, evt *event.Event) error {
	user := strings.TrimPrefix(evt.GetStateKey(), "_")
	if evt.Sender.Homeserver() != server || id.UserID(user).Homeserver() != server {
		return nil
	}
	old, err := s.Store.AttestationOf(ctx, user)
	if errors.Is(err, store.ErrNotFound) || err == nil && old.AttestedBy != evt.Sender.String() {
		return nil
	} else if err != nil {
		return err
	}
	if err := s.Store.DeleteAttestation(ctx, user); err != nil {
		return err
	}
	if err := s.Audit(ctx, evt.Sender.String(), evt.RoomID, "withdraw_attestation.federated", fmt.Sprintf("%s withdrew its confirmation of %s", server, user), map[string]any{"user_id": user}); err != nil {
		return err
	}
	return s.CheckIdentities(ctx, user)
}

const kvPinnedBotKey = "pinned_bot_key:"

// signedByPinned: the attestation carries a signature by the key pinned for
// its publisher, or none is pinned yet. It reads no keys from anywhere, so
// a re-read of known attestations stays cheap.
func (s *Verification) signedByPinned(ctx context.Context, bot id.UserID, p publishedAttestation) bool {
	pinned := strings.TrimRight(strings.ReplaceAll(s.Cfg.Federation.BotKeys[bot.String()], " ", ""), "=")
	if pinned == "" {
		kv, ok, err := s.Store.KV(ctx, kvPinnedBotKey+bot.String())
		if err != nil || !ok {
			return err == nil
		}
		pinned = kv
	}
	_, ok := p.Signatures[bot.String()]["ed25519:"+pinned]
	return ok
}

// trustedBotKey returns the master key another trust's bot signs with: the
// one pinned in config, else the one seen first (then pinned). A bot whose
// published key differs from its pin is refused, and the IG team told once.
func (s *Verification) trustedBotKey(ctx context.Context, bot id.UserID) (string, error) {
	published, err := s.publishedMasterKey(ctx, bot.String())
	if err != nil {
		return "", retry.Transient(err)
	}
	if published == "" {
		return "", fmt.Errorf("%s publishes no valid master key", bot)
	}
	pinned := strings.TrimRight(strings.ReplaceAll(s.Cfg.Federation.BotKeys[bot.String()], " ", ""), "=")
	if pinned == "" {
		var ok bool
		if pinned, ok, err = s.Store.KV(ctx, kvPinnedBotKey+bot.String()); err != nil {
			return "", err
		} else if !ok {
			if err := s.Store.SetKV(ctx, kvPinnedBotKey+bot.String(), published); err != nil {
				return "", err
			}
			if err := s.Audit(ctx, s.BotID.String(), "", "pin_bot_key", fmt.Sprintf("trusting %s's identity %s on first use", bot, published), nil); err != nil {
				return "", err
			}
			return published, nil
		}
	}
	if pinned == published {
		return published, nil
	}
	warned := "bot_key_mismatch:" + bot.String() + ":" + published
	if _, done, err := s.Store.KV(ctx, warned); err == nil && !done {
		_ = s.Store.SetKV(ctx, warned, "1")
		fix := fmt.Sprintf("type `!policy trust-key %s %s`", bot, policy.Fingerprint(published))
		if _, inConfig := s.Cfg.Federation.BotKeys[bot.String()]; inConfig {
			fix = "pin the new key in federation.bot_keys and restart me"
		}
		if err := s.NotifyManagement(ctx, policy.RuleFederationAlert, fmt.Sprintf("⚠ The Caldicott of another trust, %s, now shows a different identity (%s) from the one I trust (%s). I am ignoring its identity confirmations until you check with that trust's IG team; if they did reset it, %s.",
			bot, policy.Fingerprint(published), policy.Fingerprint(pinned), fix)); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("%s's master key %s is not the pinned %s", bot, published, pinned)
}

// WithdrawLeavers takes back the confirmations of the trust's own staff whom
// the directory now marks as left or suspended, so the other trusts stop
// treating them as confirmed. People merely missing from the directory keep
// theirs: an incomplete feed must not un-confirm everyone.
func (s *Verification) WithdrawLeavers(ctx context.Context) error {
	gone, err := s.Store.StaffWithStatus(ctx, string(policy.StatusLeft), string(policy.StatusSuspended))
	if err != nil {
		return err
	}
	all, err := s.Store.Attestations(ctx)
	if err != nil {
		return err
	}
	for _, a := range all {
		if status, ok := gone[a.UserID]; ok && id.UserID(a.UserID).Homeserver() == s.Cfg.Homeserver.Domain {
			if err := s.withdrawAttestation(ctx, a.UserID, status); err != nil {
				return err
			}
		}
	}
	return nil
}

// WithdrawIfLeft withdraws one person's confirmation if they are of this
// trust and the directory marks them left or suspended.
func (s *Verification) WithdrawIfLeft(ctx context.Context, user string) error {
	if id.UserID(user).Homeserver() != s.Cfg.Homeserver.Domain {
		return nil
	}
	rec, err := s.Store.Staff(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if st, _ := policy.ParseStaffStatus(rec.Status); st != policy.StatusLeft && st != policy.StatusSuspended {
		return nil
	}
	if _, err := s.Store.AttestationOf(ctx, user); errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	return s.withdrawAttestation(ctx, user, rec.Status)
}

// withdrawAttestation deletes a confirmation of one of the trust's staff
// and empties its published copy.
func (s *Verification) withdrawAttestation(ctx context.Context, user, status string) error {
	if err := s.Store.DeleteAttestation(ctx, user); err != nil {
		return err
	}
	if err := s.Audit(ctx, s.BotID.String(), "", "withdraw_attestation", fmt.Sprintf("%s is %s in the directory; confirmation of identity withdrawn", user, status), map[string]any{"user_id": user}); err != nil {
		return err
	}
	if err := s.withdrawPublished(ctx, user); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Confirmation withdrawn here but not yet in the attestation room")
	}
	return nil
}

// recordAttestation saves an attestation and, for the trust's own staff,
// publishes it to the federation. Publishing is retried at the next
// start-up if the room cannot be reached now.
func (s *Verification) recordAttestation(ctx context.Context, a store.Attestation) error {
	if err := s.Store.SaveAttestation(ctx, a); err != nil {
		return err
	}
	saved, err := s.Store.AttestationOf(ctx, a.UserID)
	if err != nil {
		return retry.Transient(err)
	}
	if err := s.publishAttestation(ctx, saved); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Attestation recorded but not yet published to the federation")
	}
	return nil
}
