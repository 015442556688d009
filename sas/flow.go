// Package sas holds the Matrix emoji (SAS) verification protocol as the bot
// plays it with a member: the member's client starts the SAS (as Element
// does once the request is ready), the bot accepts, both show the same
// code, and the member's "They match" is proven to the bot by a MAC over
// the member's device and master keys that only the shared secret can
// produce. A Flow is pure protocol state: it takes parsed messages and
// returns the messages to send; the caller does all I/O.
package sas

import (
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"encoding/json"
	"slices"
	"time"

	"go.mau.fi/util/jsonbytes"
	"go.mau.fi/util/jsontime"
	"maunium.net/go/mautrix/crypto/canonicaljson"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Timeout is how long a verification may take end to end (the spec's ten
// minutes for a request).
const Timeout = 10 * time.Minute

// Party is one side of a verification: a user and the device acting for them.
type Party struct {
	User   id.UserID
	Device id.DeviceID
}

// Keys are one side's long-term ed25519 keys the MACs vouch for.
type Keys struct {
	Device id.Ed25519
	Master id.Ed25519 // empty if the side has no cross-signing
}

// State is where a flow stands.
type State int

const (
	Requested     State = iota // the bot asked; waiting for the member's ready
	Ready                      // both ready; waiting for the member to start the SAS
	Accepted                   // the bot accepted; waiting for the member's key
	KeysExchanged              // both keys known, code shown; waiting for the member's MAC
	MACVerified                // member's MAC checked, the bot's sent; waiting for their done
	Done
	Cancelled
)

// Message is one event to send, in its in-room type; a to-device transport
// maps the type and sets the transaction ID instead of the relation.
type Message struct {
	Type    event.Type
	Content any
}

// Step is the outcome of one incoming message.
type Step struct {
	Send []Message
	// Code is set once both keys are known: show it to the member.
	Code *Code
	// Verified is set when the member confirmed a match and both MACs hold:
	// the master key in Flow.VerifiedMaster is proven to be the member's.
	Verified bool
	// Cancelled is set when the flow ended without success; Reason says why
	// in plain words for the member.
	Cancelled bool
	Reason    string
}

// Flow is one verification between the bot (Us) and a member (Them).
type Flow struct {
	TxnID   string
	Us      Party
	Them    Party
	OurKeys Keys
	State   State
	Expires time.Time
	// VerifiedMaster is the member's master key their MAC vouched for.
	VerifiedMaster id.Ed25519

	eph       *ecdh.PrivateKey
	theirEph  []byte
	secret    []byte
	startJSON []byte
	methods   []event.SASMethod
}

// Outgoing is a flow the bot requested with event txnID (in-room: the
// request's event ID).
func Outgoing(txnID string, us Party, them id.UserID, ours Keys, now time.Time) *Flow {
	return &Flow{TxnID: txnID, Us: us, Them: Party{User: them}, OurKeys: ours, State: Requested, Expires: now.Add(Timeout)}
}

// Incoming answers a member's request: ready if they offer SAS.
func Incoming(txnID string, us, them Party, ours Keys, methods []event.VerificationMethod, now time.Time) (*Flow, Step) {
	f := &Flow{TxnID: txnID, Us: us, Them: them, OurKeys: ours, State: Requested, Expires: now.Add(Timeout)}
	if !slices.Contains(methods, event.VerificationMethodSAS) {
		return f, f.cancel(event.VerificationCancelCodeUnknownMethod, "your app offered no emoji verification")
	}
	f.State = Ready
	return f, Step{Send: []Message{{event.InRoomVerificationReady, &event.VerificationReadyEventContent{
		FromDevice: us.Device, Methods: []event.VerificationMethod{event.VerificationMethodSAS},
	}}}}
}

// Request is the to-device request the bot sends to start flow txnID.
func Request(txnID string, us Party, now time.Time) *event.VerificationRequestEventContent {
	return &event.VerificationRequestEventContent{
		ToDeviceVerificationEvent: event.ToDeviceVerificationEvent{TransactionID: id.VerificationTransactionID(txnID)},
		FromDevice:                us.Device,
		Methods:                   []event.VerificationMethod{event.VerificationMethodSAS},
		Timestamp:                 jsontime.UM(now),
	}
}

// OnReady takes the member's ready to the bot's request.
func (f *Flow) OnReady(c *event.VerificationReadyEventContent) Step {
	if f.State != Requested {
		return f.unexpected("ready")
	}
	if c.FromDevice == "" {
		return f.cancel(event.VerificationCancelCodeInvalidMessage, "the ready message named no device")
	}
	if !slices.Contains(c.Methods, event.VerificationMethodSAS) {
		return f.cancel(event.VerificationCancelCodeUnknownMethod, "your app offered no emoji verification")
	}
	f.Them.Device = c.FromDevice
	f.State = Ready
	return Step{}
}

// OnStart takes the member's start of the SAS and accepts it with a
// commitment to the bot's ephemeral key. raw is the start content as
// received: the commitment covers exactly that, including fields this
// package does not model; without it the parsed content is re-encoded.
func (f *Flow) OnStart(c *event.VerificationStartEventContent, raw json.RawMessage) Step {
	if f.State != Ready {
		return f.unexpected("start")
	}
	if c.FromDevice != f.Them.Device {
		return f.cancel(event.VerificationCancelCodeUnexpectedMessage, "the start came from a different device than the one that answered")
	}
	if c.Method != event.VerificationMethodSAS {
		return f.cancel(event.VerificationCancelCodeUnknownMethod, "only emoji verification is supported")
	}
	switch {
	case !slices.Contains(c.KeyAgreementProtocols, event.KeyAgreementProtocolCurve25519HKDFSHA256),
		!slices.Contains(c.Hashes, event.VerificationHashMethodSHA256),
		!slices.Contains(c.MessageAuthenticationCodes, event.MACMethodHKDFHMACSHA256V2):
		return f.cancel(event.VerificationCancelCodeUnknownMethod, "your app offered no method the bot accepts (needs curve25519-hkdf-sha256, sha256, hkdf-hmac-sha256.v2)")
	}
	for _, m := range []event.SASMethod{event.SASMethodEmoji, event.SASMethodDecimal} {
		if slices.Contains(c.ShortAuthenticationString, m) {
			f.methods = append(f.methods, m)
		}
	}
	if len(f.methods) == 0 {
		return f.cancel(event.VerificationCancelCodeUnknownMethod, "your app offered neither emoji nor numbers")
	}
	var err error
	if len(raw) == 0 {
		if raw, err = json.Marshal(c); err != nil {
			return f.cancel(event.VerificationCancelCodeInvalidMessage, "the start message could not be read")
		}
	}
	canonical, err := canonicaljson.CanonicalJSON(raw)
	if err != nil {
		return f.cancel(event.VerificationCancelCodeInvalidMessage, "the start message could not be read")
	}
	f.eph, err = ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return f.cancel(event.VerificationCancelCodeInternalError, "the bot could not make a key")
	}
	f.startJSON = canonical
	f.State = Accepted
	return Step{Send: []Message{{event.InRoomVerificationAccept, &event.VerificationAcceptEventContent{
		Commitment:                commitment(f.eph.PublicKey().Bytes(), canonical),
		Hash:                      event.VerificationHashMethodSHA256,
		KeyAgreementProtocol:      event.KeyAgreementProtocolCurve25519HKDFSHA256,
		MessageAuthenticationCode: event.MACMethodHKDFHMACSHA256V2,
		ShortAuthenticationString: f.methods,
	}}}}
}

// OnKey takes the member's ephemeral key, answers with the bot's and
// derives the code both sides now show.
func (f *Flow) OnKey(c *event.VerificationKeyEventContent) Step {
	if f.State != Accepted {
		return f.unexpected("key")
	}
	theirs, err := ecdh.X25519().NewPublicKey(c.Key)
	if err != nil {
		return f.cancel(event.VerificationCancelCodeInvalidMessage, "the key message held no valid key")
	}
	f.secret, err = f.eph.ECDH(theirs)
	if err != nil {
		return f.cancel(event.VerificationCancelCodeInvalidMessage, "the key message held no valid key")
	}
	f.theirEph = c.Key
	b, err := sasBytes(f.secret, f.Them, f.Us, f.theirEph, f.eph.PublicKey().Bytes(), f.TxnID)
	if err != nil {
		return f.cancel(event.VerificationCancelCodeInternalError, "the bot could not derive the code")
	}
	code := codeFromBytes(b)
	f.State = KeysExchanged
	return Step{Code: &code, Send: []Message{{event.InRoomVerificationKey, &event.VerificationKeyEventContent{Key: f.eph.PublicKey().Bytes()}}}}
}

// OnMAC checks the member's MACs against their keys as the homeserver
// published them (theirs: the device that verifies and their master key,
// already checked by the caller). Only a member who pressed "They match"
// sends a MAC, and only the shared secret makes it valid: so a valid MAC
// over their master key is their confirmation. The bot then sends its own.
func (f *Flow) OnMAC(c *event.VerificationMACEventContent, theirs Keys) Step {
	if f.State != KeysExchanged {
		return f.unexpected("mac")
	}
	ids := make([]string, 0, len(c.MAC))
	for k := range c.MAC {
		ids = append(ids, k.String())
	}
	want, err := mac(f.secret, f.Them, f.Us, f.TxnID, "KEY_IDS", keyIDList(ids))
	if err != nil || !hmac.Equal(want, c.Keys) {
		return f.cancel(event.VerificationCancelCodeKeyMismatch, "the list of keys did not match")
	}
	deviceKeyID := id.NewKeyID(id.KeyAlgorithmEd25519, f.Them.Device.String())
	masterKeyID := id.NewKeyID(id.KeyAlgorithmEd25519, theirs.Master.String())
	if _, ok := c.MAC[deviceKeyID]; !ok || theirs.Device == "" {
		return f.cancel(event.VerificationCancelCodeKeyMismatch, "your device key was not covered")
	}
	for keyID, got := range c.MAC {
		var key id.Ed25519
		switch {
		case keyID == deviceKeyID:
			key = theirs.Device
		case theirs.Master != "" && keyID == masterKeyID:
			key = theirs.Master
		default:
			// A key the homeserver does not show us for this member: we
			// cannot vouch for it.
			return f.cancel(event.VerificationCancelCodeKeyMismatch, "a key was covered that your homeserver does not publish")
		}
		want, err := mac(f.secret, f.Them, f.Us, f.TxnID, keyID.String(), key.String())
		if err != nil || !hmac.Equal(want, got) {
			return f.cancel(event.VerificationCancelCodeKeyMismatch, "the codes did not match or a key was changed in transit")
		}
	}
	if theirs.Master == "" || c.MAC[masterKeyID] == nil {
		return f.cancel(event.VerificationCancelCodeUser, "your identity (cross-signing master key) was not part of the verification; set up cross-signing (Secure Backup) in Element first")
	}
	f.VerifiedMaster = theirs.Master
	out := &event.VerificationMACEventContent{MAC: map[id.KeyID]jsonbytes.UnpaddedBytes{}}
	ourIDs := []string{id.NewKeyID(id.KeyAlgorithmEd25519, f.Us.Device.String()).String()}
	ourKeys := map[string]string{ourIDs[0]: f.OurKeys.Device.String()}
	if f.OurKeys.Master != "" {
		k := id.NewKeyID(id.KeyAlgorithmEd25519, f.OurKeys.Master.String()).String()
		ourIDs = append(ourIDs, k)
		ourKeys[k] = f.OurKeys.Master.String()
	}
	for _, k := range ourIDs {
		m, err := mac(f.secret, f.Us, f.Them, f.TxnID, k, ourKeys[k])
		if err != nil {
			return f.cancel(event.VerificationCancelCodeInternalError, "the bot could not compute its MAC")
		}
		out.MAC[id.KeyID(k)] = m
	}
	if out.Keys, err = mac(f.secret, f.Us, f.Them, f.TxnID, "KEY_IDS", keyIDList(ourIDs)); err != nil {
		return f.cancel(event.VerificationCancelCodeInternalError, "the bot could not compute its MAC")
	}
	f.State = MACVerified
	return Step{Send: []Message{
		{event.InRoomVerificationMAC, out},
		{event.InRoomVerificationDone, &event.VerificationDoneEventContent{}},
	}}
}

// OnDone takes the member's done: they checked the bot's MAC too, so the
// verification holds both ways.
func (f *Flow) OnDone() Step {
	if f.State != MACVerified {
		return f.unexpected("done")
	}
	f.State = Done
	return Step{Verified: true}
}

// OnCancel ends the flow at the member's request; nothing is attested.
func (f *Flow) OnCancel(c *event.VerificationCancelEventContent) Step {
	if f.State == Done || f.State == Cancelled {
		return Step{}
	}
	f.State = Cancelled
	reason := "you cancelled the verification"
	if c.Code == event.VerificationCancelCodeSASMismatch {
		reason = "the codes did not match"
	} else if c.Reason != "" {
		reason = "your app cancelled it: " + c.Reason
	}
	return Step{Cancelled: true, Reason: reason}
}

// Expire cancels a flow whose time is up.
func (f *Flow) Expire(now time.Time) (Step, bool) {
	if f.State == Done || f.State == Cancelled || now.Before(f.Expires) {
		return Step{}, false
	}
	return f.cancel(event.VerificationCancelCodeTimeout, "it was not finished within 10 minutes"), true
}

// Refuse cancels a flow the bot will not run, saying why.
func (f *Flow) Refuse(reason string) Step {
	return f.cancel(event.VerificationCancelCodeUser, reason)
}

// Finished says whether nothing more will happen in this flow.
func (f *Flow) Finished() bool { return f.State == Done || f.State == Cancelled }

func (f *Flow) unexpected(what string) Step {
	return f.cancel(event.VerificationCancelCodeUnexpectedMessage, "a "+what+" message came out of order")
}

func (f *Flow) cancel(code event.VerificationCancelCode, reason string) Step {
	f.State = Cancelled
	return Step{Cancelled: true, Reason: reason, Send: []Message{{event.InRoomVerificationCancel, &event.VerificationCancelEventContent{Code: code, Reason: reason}}}}
}
