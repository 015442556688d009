//go:build goolm

package verification

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/sas"
	"github.com/caldicott/caldicott/store"
)

// botParty is the bot's device in verifications, with the keys its MAC
// vouches for. Only the device key is MACed: mautrix-go clients (v0.26)
// cancel any cross-user verification whose MAC names the other side's
// master key, and the bot's own identity needs no verifying by members.
func (s *Verification) botParty() (sas.Party, sas.Keys) {
	mach := s.crypto.helper.Machine()
	return sas.Party{User: s.BotID, Device: s.crypto.cli.DeviceID}, sas.Keys{Device: mach.OwnIdentity().SigningKey}
}

// canSignUsers says whether the bot holds its user-signing key.
func (s *Verification) canSignUsers() bool {
	if s.crypto == nil {
		return false
	}
	mach := s.crypto.helper.Machine()
	return mach.CrossSigningKeys != nil && mach.CrossSigningKeys.UserSigningKey != nil
}

// cmdVerify starts an emoji verification between the sender and the bot,
// with the bot's emoji posted in the room where they asked.
func (s *Verification) cmdVerify(ctx context.Context, c *commands.Call) error {
	user := c.Evt.Sender
	if !s.canSignUsers() {
		return s.Reply(ctx, c.Evt, "Emoji verification is not available: this Caldicott has no encryption identity. Ask the IG team to confirm your identity in person instead (`!policy attest`).")
	}
	if !s.IsOwnTrust(user) {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("I confirm identities for %s only. Please verify with your own trust's Caldicott.", s.Cfg.Trust.Name))
	}
	_, reply, err := s.startVerification(ctx, user, c.Evt.RoomID)
	if err != nil {
		return err
	}
	return s.Reply(ctx, c.Evt, reply)
}

// promptVerification is the bot's prompt: a member of the trust warned
// that their identity is not yet confirmed gets a verification request at
// once, with the emoji posted in the room where they were warned.
func (s *Verification) promptVerification(ctx context.Context, user id.UserID, room id.RoomID) error {
	if s.Cfg.Verification.Prompt != "enabled" || !s.canSignUsers() || user.Homeserver() != s.Cfg.Homeserver.Domain {
		return nil
	}
	sent, reply, err := s.startVerification(ctx, user, room)
	if err != nil || !sent {
		return err
	}
	return s.Notice(ctx, room, policy.RuleVerificationPrompt, reply)
}

// startVerification sends a verification request to each of the member's
// devices (as Element does; whichever answers runs it) after checking they
// have an identity to confirm. reply tells the member what happened.
func (s *Verification) startVerification(ctx context.Context, user id.UserID, room id.RoomID) (sent bool, reply string, err error) {
	resp, err := s.queryKeys(ctx, []string{user.String()})
	if err != nil {
		if retry.IsTransient(err) {
			return false, "", err
		}
		return false, "I could not read your keys: " + executor.MatrixReason(err), nil
	}
	f := s.keys.facts(user.String(), resp)
	if f.MasterKey == "" || !f.SelfSigningValid {
		return false, "You have no cross-signing identity yet, so there is nothing for me to confirm. In Element: Settings → Security & Privacy → Set up Secure Backup, then type `!policy verify` again.", nil
	}
	us, ours := s.botParty()
	txn := id.NewVerificationTransactionID()
	content := sas.Request(txn.String(), us, s.Now())
	var devices []id.DeviceID
	for d := range resp.DeviceKeys[user.String()] {
		devices = append(devices, id.DeviceID(d))
	}
	if len(devices) == 0 {
		return false, "You have no devices with encryption keys, so there is nothing to verify with.", nil
	}
	if _, err := s.crypto.cli.SendToDevice(ctx, event.ToDeviceVerificationRequest, toDevices(user, devices, content)); err != nil {
		if retry.IsTransient(err) {
			return false, "", err
		}
		return false, "I could not send the verification request: " + executor.MatrixReason(err), nil
	}
	s.sas.mu.Lock()
	s.dropFlowsOf(user)
	s.sas.byTxn[txn.String()] = &sasFlow{Flow: sas.Outgoing(txn.String(), us, user, ours, s.Now()), noticeRoom: room, sentTo: devices}
	s.sas.mu.Unlock()
	if err := s.Audit(ctx, user.String(), room, "verify.request", "emoji verification requested", nil); err != nil {
		return false, "", err
	}
	return true, fmt.Sprintf("%s, I have sent a verification request to your devices. In Element, accept it on one of them, choose \"Verify by emoji\", and press \"They match\" only if your emoji are exactly the ones I post here. Your identity to be confirmed: %s.", user, policy.Fingerprint(f.MasterKey)), nil
}

// dropFlowsOf forgets a member's earlier, unfinished verifications when
// they start a new one: one at a time per person, so repeated requests
// cannot pile up. Called with the flows' lock held.
func (s *Verification) dropFlowsOf(user id.UserID) {
	for txn, f := range s.sas.byTxn {
		if f.Them.User == user {
			delete(s.sas.byTxn, txn)
		}
	}
}

// OnRoomVerification takes an in-room verification event (already decrypted).
func (s *Verification) OnRoomVerification(ctx context.Context, evt *event.Event) error {
	if evt.Sender == s.BotID || s.crypto == nil {
		return nil
	}
	if evt.Type == event.EventMessage {
		msg := evt.Content.AsMessage()
		if msg.To != s.BotID {
			return nil
		}
		return s.onVerificationRequest(ctx, evt.ID.String(), evt.RoomID, evt.Sender, msg.FromDevice, msg.Methods)
	}
	if evt.Content.Parsed == nil {
		// mautrix-go does not know m.key.verification.done as a room event
		// type (its class guess leaves it out), so parse it as one here.
		evt.Type.Class = event.MessageEventType
		if err := evt.Content.ParseRaw(evt.Type); err != nil {
			zerolog.Ctx(ctx).Debug().Err(err).Msg("Unreadable verification event")
			return nil
		}
	}
	var txn string
	if rel, ok := evt.Content.Parsed.(event.Relatable); ok && rel.OptionalGetRelatesTo() != nil {
		txn = rel.OptionalGetRelatesTo().EventID.String()
	}
	return s.stepVerification(ctx, txn, evt)
}

// onToDeviceVerification takes a verification event sent to the bot's device.
func (s *Verification) onToDeviceVerification(ctx context.Context, evt *event.Event) {
	var err error
	if evt.Type == event.ToDeviceVerificationRequest {
		c := evt.Content.AsVerificationRequest()
		err = s.onVerificationRequest(ctx, c.TransactionID.String(), "", evt.Sender, c.FromDevice, c.Methods)
	} else if t, ok := evt.Content.Parsed.(event.VerificationTransactionable); ok {
		err = s.stepVerification(ctx, t.GetTransactionID().String(), evt)
	}
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str("event_type", evt.Type.Type).Msg("Verification event not handled")
	}
}

// onVerificationRequest answers a member who asks the bot to verify them
// (Element's "Verify" on the bot's profile).
func (s *Verification) onVerificationRequest(ctx context.Context, txn string, room id.RoomID, from id.UserID, device id.DeviceID, methods []event.VerificationMethod) error {
	if txn == "" || device == "" {
		return nil
	}
	us, ours := s.botParty()
	flow, step := sas.Incoming(txn, us, sas.Party{User: from, Device: device}, ours, methods, s.Now())
	f := &sasFlow{Flow: flow, room: room, noticeRoom: room}
	switch {
	case !s.canSignUsers() || !s.IsOwnTrust(from):
		step = flow.Refuse("Caldicott verifies its own trust's staff only")
	case room == "":
		// The member must see the bot's emoji: that needs a room.
		step = flow.Refuse("type !policy verify in a room with the Caldicott bot instead")
	}
	s.sas.mu.Lock()
	defer s.sas.mu.Unlock()
	if _, dup := s.sas.byTxn[txn]; dup {
		return nil
	}
	if !step.Cancelled {
		// A refused request leaves the member's running verification be.
		s.dropFlowsOf(from)
		s.sas.byTxn[txn] = f
	}
	return s.applyStep(ctx, f, step)
}

// stepVerification feeds one event to its flow. Events for flows the bot
// does not know, or from anyone but the member, are ignored. A success is
// recorded after the flows' lock is released: re-admitting the member
// walks the clinical rooms, and other verifications need not wait for it.
func (s *Verification) stepVerification(ctx context.Context, txn string, evt *event.Event) error {
	s.sas.mu.Lock()
	f, step, err := s.nextStep(ctx, txn, evt)
	if err == nil && f != nil {
		err = s.applyStep(ctx, f, step)
	}
	s.sas.mu.Unlock()
	if err == nil && f != nil && step.Verified {
		err = s.attestVerified(ctx, f)
	}
	return err
}

// nextStep finds the event's flow and runs it one step; a nil flow means
// the event is not for any. Called with the flows' lock held.
func (s *Verification) nextStep(ctx context.Context, txn string, evt *event.Event) (*sasFlow, sas.Step, error) {
	var step sas.Step
	f, ok := s.sas.byTxn[txn]
	if !ok || evt.Sender != f.Them.User || f.Finished() {
		zerolog.Ctx(ctx).Debug().Str("transaction_id", txn).Bool("known", ok).Str("type", evt.Type.Type).Msg("Verification event ignored")
		return nil, step, nil
	}
	zerolog.Ctx(ctx).Debug().Str("transaction_id", txn).Int("state", int(f.State)).Str("type", evt.Type.Type).Msg("Verification event")
	switch evt.Type.Type {
	case event.InRoomVerificationReady.Type:
		step = f.OnReady(evt.Content.AsVerificationReady())
		if !step.Cancelled {
			s.cancelOtherDevices(ctx, f)
		}
	case event.InRoomVerificationStart.Type:
		step = f.OnStart(evt.Content.AsVerificationStart(), evt.Content.VeryRaw)
	case event.InRoomVerificationKey.Type:
		step = f.OnKey(evt.Content.AsVerificationKey())
	case event.InRoomVerificationMAC.Type:
		theirs, err := s.memberKeysFor(ctx, f.Them)
		if err != nil {
			if retry.IsTransient(err) {
				return nil, step, err
			}
			zerolog.Ctx(ctx).Warn().Err(err).Msg("Member keys unusable for verification")
		}
		step = f.OnMAC(evt.Content.AsVerificationMAC(), theirs)
	case event.InRoomVerificationDone.Type:
		step = f.OnDone()
	case event.InRoomVerificationCancel.Type:
		step = f.OnCancel(evt.Content.AsVerificationCancel())
	default:
		return nil, step, nil
	}
	return f, step, nil
}

// cancelOtherDevices tells the member's other devices, which also showed
// the request, that one of their devices took it.
func (s *Verification) cancelOtherDevices(ctx context.Context, f *sasFlow) {
	content := &event.VerificationCancelEventContent{
		ToDeviceVerificationEvent: event.ToDeviceVerificationEvent{TransactionID: id.VerificationTransactionID(f.TxnID)},
		Code:                      event.VerificationCancelCodeAccepted, Reason: "answered on another device",
	}
	var others []id.DeviceID
	for _, d := range f.sentTo {
		if d != f.Them.Device {
			others = append(others, d)
		}
	}
	if len(others) == 0 {
		return
	}
	if _, err := s.crypto.cli.SendToDevice(ctx, event.ToDeviceVerificationCancel, toDevices(f.Them.User, others, content)); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Could not tell the member's other devices")
	}
}

// memberKeysFor reads the member's device and master keys as published,
// each checked cryptographically; a key that fails a check is left out,
// so the MAC over it cannot be accepted.
func (s *Verification) memberKeysFor(ctx context.Context, p sas.Party) (sas.Keys, error) {
	resp, err := s.queryKeys(ctx, []string{p.User.String()})
	if err != nil {
		return sas.Keys{}, err
	}
	var k sas.Keys
	if facts := checkKeys(p.User.String(), resp); facts.SelfSigningValid {
		k.Master = id.Ed25519(facts.MasterKey)
	}
	dev, err := deviceKey(p.User.String(), p.Device.String(), resp)
	if err != nil {
		return k, err
	}
	k.Device = id.Ed25519(dev)
	return k, nil
}

// applyStep sends what the flow says and tells the member how it stands; a
// success is then for the caller to record. Called with the flows' lock held.
func (s *Verification) applyStep(ctx context.Context, f *sasFlow, step sas.Step) error {
	for _, m := range step.Send {
		if err := s.sendVerification(ctx, f, m); err != nil {
			return err
		}
	}
	user := f.Them.User.String()
	switch {
	case step.Code != nil:
		return s.verificationNotice(ctx, f, fmt.Sprintf("%s, compare these emoji with the ones Element shows you:\n%s\n(or the numbers %d %d %d). Press \"They match\" only if they are exactly the same and in the same order.",
			user, step.Code, step.Code.Decimals[0], step.Code.Decimals[1], step.Code.Decimals[2]))
	case step.Cancelled:
		delete(s.sas.byTxn, f.TxnID)
		if err := s.Audit(ctx, user, f.noticeRoom, "verify.cancelled", "emoji verification ended without confirmation: "+step.Reason, nil); err != nil {
			return err
		}
		return s.verificationNotice(ctx, f, fmt.Sprintf("The verification of %s was cancelled: %s. Nothing was recorded; type `!policy verify` to try again.", user, strings.TrimSuffix(step.Reason, ".")))
	case step.Verified:
		delete(s.sas.byTxn, f.TxnID)
	}
	return nil
}

// attestVerified records the member's proven master key, signs it with the
// bot's user-signing key and re-admits them where they were suspended.
func (s *Verification) attestVerified(ctx context.Context, f *sasFlow) error {
	user, master := f.Them.User, f.VerifiedMaster
	if err := s.crypto.helper.Machine().SignUser(ctx, user, master); err != nil {
		// The attestation stands on the checked MACs; the signature is how
		// the homeserver shows it, so its failure is reported, not fatal.
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Could not sign the verified member's master key")
	}
	if err := s.recordAttestation(ctx, store.Attestation{
		UserID: user.String(), MasterKey: master.String(), Method: "emoji verification", AttestedBy: s.BotID.String(),
		Note: "with device " + f.Them.Device.String(),
	}); err != nil {
		return err
	}
	if err := s.Audit(ctx, user.String(), f.noticeRoom, "attest", fmt.Sprintf("identity of %s confirmed by emoji verification; master key %s", user, master),
		map[string]any{"user_id": user.String(), "device_id": f.Them.Device.String()}); err != nil {
		return err
	}
	if err := s.verificationNotice(ctx, f, fmt.Sprintf("✅ %s: identity (%s) confirmed by emoji verification and recorded.", user, policy.Fingerprint(master.String()))); err != nil {
		return err
	}
	return s.CheckIdentities(ctx, user.String())
}

// sendVerification sends one protocol message over the flow's transport.
func (s *Verification) sendVerification(ctx context.Context, f *sasFlow, m sas.Message) error {
	if f.room != "" {
		if r, ok := m.Content.(event.Relatable); ok {
			r.SetRelatesTo(&event.RelatesTo{Type: event.RelReference, EventID: id.EventID(f.TxnID)})
		}
		if _, err := s.crypto.cli.SendMessageEvent(ctx, f.room, m.Type, m.Content); err != nil {
			return fmt.Errorf("send %s: %w", m.Type.Type, err)
		}
		return nil
	}
	if t, ok := m.Content.(event.VerificationTransactionable); ok {
		t.SetTransactionID(id.VerificationTransactionID(f.TxnID))
	}
	typ := event.Type{Type: m.Type.Type, Class: event.ToDeviceEventType}
	if _, err := s.crypto.cli.SendToDevice(ctx, typ, toDevices(f.Them.User, []id.DeviceID{f.Them.Device}, m.Content)); err != nil {
		return fmt.Errorf("send %s to device: %w", typ.Type, err)
	}
	return nil
}

// toDevices is one to-device message, the same content for each device.
func toDevices(user id.UserID, devices []id.DeviceID, content any) *mautrix.ReqSendToDevice {
	req := &mautrix.ReqSendToDevice{Messages: map[id.UserID]map[id.DeviceID]*event.Content{user: {}}}
	for _, d := range devices {
		req.Messages[user][d] = &event.Content{Parsed: content}
	}
	return req
}

// verificationNotice tells the member, in the room where they asked, how
// their verification stands. Flows a member started by to-device message
// have no such room; they are refused with the reason in the cancel itself.
func (s *Verification) verificationNotice(ctx context.Context, f *sasFlow, text string) error {
	if f.noticeRoom == "" {
		return nil
	}
	if err := s.Notice(ctx, f.noticeRoom, policy.RuleVerificationNotice, text); err != nil && !errors.Is(err, context.Canceled) {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Could not post verification notice")
	}
	return nil
}

// ExpireVerifications cancels flows left unfinished past their time.
func (s *Verification) ExpireVerifications(ctx context.Context) {
	s.sas.mu.Lock()
	defer s.sas.mu.Unlock()
	for _, f := range s.sas.byTxn {
		if step, expired := f.Expire(s.Now()); expired {
			if err := s.applyStep(ctx, f, step); err != nil {
				zerolog.Ctx(ctx).Warn().Err(err).Msg("Could not cancel an expired verification")
			}
		}
	}
}
