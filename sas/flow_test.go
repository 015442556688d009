package sas

import (
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"go.mau.fi/util/jsonbytes"
	"maunium.net/go/mautrix/crypto/canonicaljson"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

var (
	t0         = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	bot        = Party{User: "@caldicott:a.test", Device: "BOTDEVICE"}
	member     = Party{User: "@alice:a.test", Device: "ALICEPHONE"}
	botKeys    = Keys{Device: "botdevicekey", Master: "botmasterkey"}
	memberKeys = Keys{Device: "alicedevicekey", Master: "alicemasterkey"}
)

// starter plays the member's client: it starts the SAS, checks the bot's
// commitment and MAC, and MACs its own keys as Element does.
type starter struct {
	t      *testing.T
	eph    *ecdh.PrivateKey
	start  *event.VerificationStartEventContent
	accept *event.VerificationAcceptEventContent
	secret []byte
}

func newStarter(t *testing.T) *starter {
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &starter{t: t, eph: eph, start: &event.VerificationStartEventContent{
		FromDevice:                 member.Device,
		Method:                     event.VerificationMethodSAS,
		KeyAgreementProtocols:      []event.KeyAgreementProtocol{event.KeyAgreementProtocolCurve25519HKDFSHA256},
		Hashes:                     []event.VerificationHashMethod{event.VerificationHashMethodSHA256},
		MessageAuthenticationCodes: []event.MACMethod{event.MACMethodHKDFHMACSHA256, event.MACMethodHKDFHMACSHA256V2},
		ShortAuthenticationString:  []event.SASMethod{event.SASMethodDecimal, event.SASMethodEmoji},
		InRoomVerificationEvent:    event.InRoomVerificationEvent{RelatesTo: &event.RelatesTo{Type: event.RelReference, EventID: "$req"}},
	}}
}

func (s *starter) key() *event.VerificationKeyEventContent {
	return &event.VerificationKeyEventContent{Key: s.eph.PublicKey().Bytes()}
}

// takeKey checks the bot's key against its commitment and derives the code.
func (s *starter) takeKey(c *event.VerificationKeyEventContent) Code {
	raw, _ := json.Marshal(s.start)
	canonical, _ := canonicaljson.CanonicalJSON(raw)
	if !hmac.Equal(commitment(c.Key, canonical), s.accept.Commitment) {
		s.t.Fatal("the bot's key does not match its commitment")
	}
	theirs, err := ecdh.X25519().NewPublicKey(c.Key)
	if err != nil {
		s.t.Fatal(err)
	}
	s.secret, _ = s.eph.ECDH(theirs)
	b, _ := sasBytes(s.secret, member, bot, s.eph.PublicKey().Bytes(), c.Key, "$req")
	return codeFromBytes(b)
}

func (s *starter) mac(keys map[string]string) *event.VerificationMACEventContent {
	out := &event.VerificationMACEventContent{MAC: map[id.KeyID]jsonbytes.UnpaddedBytes{}}
	var ids []string
	for k, v := range keys {
		m, _ := mac(s.secret, member, bot, "$req", k, v)
		out.MAC[id.KeyID(k)] = m
		ids = append(ids, k)
	}
	out.Keys, _ = mac(s.secret, member, bot, "$req", "KEY_IDS", keyIDList(ids))
	return out
}

var honestKeys = map[string]string{"ed25519:ALICEPHONE": "alicedevicekey", "ed25519:alicemasterkey": "alicemasterkey"}

// runToCode runs a flow up to both sides showing the code.
func runToCode(t *testing.T) (*Flow, *starter) {
	t.Helper()
	f, step := Incoming("$req", bot, member, botKeys, []event.VerificationMethod{event.VerificationMethodSAS, event.VerificationMethodQRCodeScan}, t0)
	if f.State != Ready || len(step.Send) != 1 || step.Send[0].Type != event.InRoomVerificationReady {
		t.Fatalf("request not answered with ready: %+v", step)
	}
	m := newStarter(t)
	step = f.OnStart(m.start, nil)
	if step.Cancelled || len(step.Send) != 1 {
		t.Fatalf("start not accepted: %+v", step)
	}
	m.accept = step.Send[0].Content.(*event.VerificationAcceptEventContent)
	if m.accept.MessageAuthenticationCode != event.MACMethodHKDFHMACSHA256V2 {
		t.Fatalf("accepted MAC method %q, want v2", m.accept.MessageAuthenticationCode)
	}
	step = f.OnKey(m.key())
	if step.Code == nil || len(step.Send) != 1 {
		t.Fatalf("key not answered: %+v", step)
	}
	if got := m.takeKey(step.Send[0].Content.(*event.VerificationKeyEventContent)); got != *step.Code {
		t.Fatalf("codes differ: member sees %v, bot shows %v", got, *step.Code)
	}
	return f, m
}

func TestFlowVerifiesHonestMember(t *testing.T) {
	f, m := runToCode(t)
	step := f.OnMAC(m.mac(honestKeys), memberKeys)
	if step.Cancelled || len(step.Send) != 2 {
		t.Fatalf("honest MAC refused: %+v", step)
	}
	// The member checks the bot's MAC as Element would.
	botMAC := step.Send[0].Content.(*event.VerificationMACEventContent)
	for k, want := range map[string]string{"ed25519:BOTDEVICE": "botdevicekey", "ed25519:botmasterkey": "botmasterkey"} {
		m2, _ := mac(m.secret, bot, member, "$req", k, want)
		if !hmac.Equal(m2, botMAC.MAC[id.KeyID(k)]) {
			t.Errorf("bot's MAC for %s does not verify", k)
		}
	}
	if step.Send[1].Type != event.InRoomVerificationDone {
		t.Fatalf("second message is %s, want done", step.Send[1].Type)
	}
	if f.VerifiedMaster != "" && f.State == Done {
		t.Fatal("done before the member's done")
	}
	if step = f.OnDone(); !step.Verified || f.VerifiedMaster != memberKeys.Master {
		t.Fatalf("not verified after done: %+v master %q", step, f.VerifiedMaster)
	}
}

func TestFlowRefusesBadInput(t *testing.T) {
	otherMaster := Keys{Device: memberKeys.Device, Master: "someoneelsesmaster"}
	tests := []struct {
		name string
		run  func(f *Flow, m *starter) Step
	}{
		{"member says the codes differ", func(f *Flow, m *starter) Step {
			return f.OnCancel(&event.VerificationCancelEventContent{Code: event.VerificationCancelCodeSASMismatch})
		}},
		{"MAC from another secret (a relay in the middle)", func(f *Flow, m *starter) Step {
			m.secret = []byte("not the shared secret at all....")
			return f.OnMAC(m.mac(honestKeys), memberKeys)
		}},
		{"MAC over a device key the server does not publish", func(f *Flow, m *starter) Step {
			return f.OnMAC(m.mac(map[string]string{"ed25519:ALICEPHONE": "forgedkey", "ed25519:alicemasterkey": "alicemasterkey"}), memberKeys)
		}},
		{"MAC over a master key other than the published one", func(f *Flow, m *starter) Step {
			return f.OnMAC(m.mac(honestKeys), otherMaster)
		}},
		{"MAC without the master key", func(f *Flow, m *starter) Step {
			return f.OnMAC(m.mac(map[string]string{"ed25519:ALICEPHONE": "alicedevicekey"}), memberKeys)
		}},
		{"MAC without the device key", func(f *Flow, m *starter) Step {
			return f.OnMAC(m.mac(map[string]string{"ed25519:alicemasterkey": "alicemasterkey"}), memberKeys)
		}},
		{"key list MAC tampered", func(f *Flow, m *starter) Step {
			c := m.mac(honestKeys)
			c.Keys[0] ^= 1
			return f.OnMAC(c, memberKeys)
		}},
		{"done before MAC", func(f *Flow, m *starter) Step { return f.OnDone() }},
		{"second key", func(f *Flow, m *starter) Step { return f.OnKey(m.key()) }},
		{"timed out", func(f *Flow, m *starter) Step {
			s, _ := f.Expire(t0.Add(Timeout + time.Second))
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, m := runToCode(t)
			step := tt.run(f, m)
			if !step.Cancelled || f.State != Cancelled || step.Reason == "" {
				t.Fatalf("not cancelled with a reason: %+v state %v", step, f.State)
			}
			if step.Verified || f.OnDone().Verified {
				t.Fatal("verified after a refusal")
			}
		})
	}
}

func TestFlowRefusesBadStart(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *event.VerificationStartEventContent)
		code   event.VerificationCancelCode
	}{
		{"other device", func(s *event.VerificationStartEventContent) { s.FromDevice = "MALLORY" }, event.VerificationCancelCodeUnexpectedMessage},
		{"QR method", func(s *event.VerificationStartEventContent) { s.Method = event.VerificationMethodReciprocate }, event.VerificationCancelCodeUnknownMethod},
		{"old MAC only", func(s *event.VerificationStartEventContent) {
			s.MessageAuthenticationCodes = []event.MACMethod{event.MACMethodHKDFHMACSHA256}
		}, event.VerificationCancelCodeUnknownMethod},
		{"old key agreement only", func(s *event.VerificationStartEventContent) {
			s.KeyAgreementProtocols = []event.KeyAgreementProtocol{event.KeyAgreementProtocolCurve25519}
		}, event.VerificationCancelCodeUnknownMethod},
		{"no SAS display", func(s *event.VerificationStartEventContent) { s.ShortAuthenticationString = nil }, event.VerificationCancelCodeUnknownMethod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := Incoming("$req", bot, member, botKeys, []event.VerificationMethod{event.VerificationMethodSAS}, t0)
			m := newStarter(t)
			tt.change(m.start)
			step := f.OnStart(m.start, nil)
			if !step.Cancelled || len(step.Send) != 1 {
				t.Fatalf("not cancelled: %+v", step)
			}
			if got := step.Send[0].Content.(*event.VerificationCancelEventContent).Code; got != tt.code {
				t.Fatalf("cancel code %q, want %q", got, tt.code)
			}
		})
	}
}

func TestOutgoingWaitsForReady(t *testing.T) {
	if r := Request("$req", bot, t0); r.TransactionID != "$req" || r.FromDevice != bot.Device || len(r.Methods) != 1 || r.Methods[0] != event.VerificationMethodSAS || !r.Timestamp.Equal(t0) {
		t.Fatalf("request %+v", r)
	}
	f := Outgoing("$req", bot, member.User, botKeys, t0)
	if step := f.OnStart(newStarter(t).start, nil); !step.Cancelled {
		t.Fatal("start before ready accepted")
	}
	f = Outgoing("$req", bot, member.User, botKeys, t0)
	if step := f.OnReady(&event.VerificationReadyEventContent{FromDevice: member.Device, Methods: []event.VerificationMethod{event.VerificationMethodQRCodeShow}}); !step.Cancelled {
		t.Fatal("ready without SAS accepted")
	}
	f = Outgoing("$req", bot, member.User, botKeys, t0)
	if step := f.OnReady(&event.VerificationReadyEventContent{FromDevice: member.Device, Methods: []event.VerificationMethod{event.VerificationMethodSAS}}); step.Cancelled || f.Them.Device != member.Device {
		t.Fatalf("ready refused: %+v", step)
	}
	if step := f.OnStart(newStarter(t).start, nil); step.Cancelled {
		t.Fatalf("start after ready refused: %+v", step)
	}
	if _, expired := f.Expire(t0.Add(time.Minute)); expired {
		t.Fatal("expired after a minute")
	}
}

func TestCodeFromBytes(t *testing.T) {
	// All-zero bytes give the first emoji seven times and 1000 three times;
	// all-ones give the last emoji and 1000+8191.
	zero := codeFromBytes(make([]byte, 6))
	for _, e := range zero.Emoji {
		if e != emojiTable[0] {
			t.Fatalf("zero bytes gave %v", zero)
		}
	}
	if zero.Decimals != [3]int{1000, 1000, 1000} {
		t.Fatalf("zero decimals %v", zero.Decimals)
	}
	ones := codeFromBytes([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	if ones.Emoji[6] != emojiTable[63] || ones.Decimals != [3]int{9191, 9191, 9191} {
		t.Fatalf("ones gave %v %v", ones.Emoji, ones.Decimals)
	}
	// 0b000001 000010 ... picks emoji 1, 2, 3...
	c := codeFromBytes([]byte{0x04, 0x20, 0xc4, 0x14, 0x61, 0xc0})
	for i, e := range c.Emoji {
		if e != emojiTable[i+1] {
			t.Fatalf("emoji %d is %v, want %v", i, e, emojiTable[i+1])
		}
	}
}
