//go:build goolm

package appservice_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/store"
)

// TestFederatedAttestation: a clinician of trust B in a clinical room of
// trust A must be confirmed by trust B. Unconfirmed, trust A suspends her
// after the grace; once she verifies with trust B's bot by emoji, trust B
// publishes the signed confirmation, trust A checks it against trust B's
// bot's master key, records it and invites her back.
func TestFederatedAttestation(t *testing.T) {
	b := newTrust(t, "127.0.0.12", "", withEncryption)
	b.startCaldicott(t, true)
	a := newTrust(t, "127.0.0.11", "", withEncryption+fmt.Sprintf(
		"federation: {servers: [%q]}\nverification: {new_member_grace: 2s, check_interval: 1s}\n", b.hs.ServerName))
	a.startCaldicott(t, true)
	alice := a.hs.RegisterUser(t, "alice", false)
	dora := newVerifier(t, b.hs.RegisterUser(t, "dora", false))

	room := clinicalRoom(t, a, alice)
	if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: dora.UserID}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "dora of trust B to join over federation", func() (bool, string) {
		_, err := dora.JoinRoom(ctx, room.String(), &mautrix.ReqJoinRoom{Via: []string{a.hs.ServerName}})
		return err == nil, fmt.Sprint(err)
	})
	waitGone(t, alice, room, dora.UserID, 30*time.Second)

	dm := roomWithBot(t, dora.Client, b.botID(), &mautrix.ReqCreateRoom{Preset: "private_chat", IsDirect: true})
	start := time.Now()
	dora.verifyMatching(t, dm, b.botID())
	waitMembership(t, alice, room, dora.UserID, "invite")
	t.Logf("trust A re-invited dora %s after she confirmed the emoji with trust B's bot", time.Since(start).Round(time.Millisecond))

	att, err := a.store.AttestationOf(ctx, dora.UserID.String())
	if err != nil || att.AttestedBy != b.botID().String() || !strings.Contains(att.Method, "emoji verification, by Trust B") {
		t.Fatalf("trust A's record of dora: %+v %v", att, err)
	}
	// Anyone of the federation may read the published confirmations.
	attRoom := attestationRoom(t, dora.Client, b)
	if _, err := dora.JoinRoom(ctx, attRoom.String(), nil); err != nil {
		t.Fatalf("dora cannot join her trust's public attestation room: %v", err)
	}
	var published struct {
		MasterKey string `json:"master_key"`
	}
	if err := dora.StateEvent(ctx, attRoom, typeAttestation, "_"+dora.UserID.String(), &published); err != nil || published.MasterKey != att.MasterKey {
		t.Fatalf("published %+v (%v), trust A recorded %s", published, err, att.MasterKey)
	}

	t.Run("a confirmation made while trust A was down is picked up", func(t *testing.T) {
		a.stopCaldicott(t)
		erin := newVerifier(t, b.hs.RegisterUser(t, "erin", false))
		erinDM := roomWithBot(t, erin.Client, b.botID(), &mautrix.ReqCreateRoom{Preset: "private_chat", IsDirect: true})
		erin.verifyMatching(t, erinDM, b.botID())
		a.startCaldicott(t, true)
		eventually(t, 20*time.Second, "trust A to record erin's confirmation", func() (bool, string) {
			att, err := a.store.AttestationOf(ctx, erin.UserID.String())
			return err == nil && att.AttestedBy == b.botID().String(), fmt.Sprint(err)
		})
	})

	t.Run("a leaver's confirmation is withdrawn everywhere", func(t *testing.T) {
		ig, mgmt := igAdmin(t, b)
		say(t, ig, mgmt, "!policy leaver "+dora.UserID.String()+" moved to another trust")
		waitForNotice(t, ig, mgmt, b.botID(), dora.UserID.String()+" is recorded as having left")
		eventually(t, 20*time.Second, "trust A to forget dora's confirmation", func() (bool, string) {
			_, err := a.store.AttestationOf(ctx, dora.UserID.String())
			return errors.Is(err, store.ErrNotFound), fmt.Sprint(err)
		})
		var content map[string]any
		if err := dora.StateEvent(ctx, attRoom, typeAttestation, "_"+dora.UserID.String(), &content); err != nil || len(content) != 0 {
			t.Fatalf("published after leaving: %v %v", content, err)
		}
		if _, err := b.store.AttestationOf(ctx, dora.UserID.String()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("trust B still holds the confirmation: %v", err)
		}
	})

	t.Run("only the bot may publish", func(t *testing.T) {
		if _, err := dora.SendStateEvent(ctx, attRoom, typeAttestation, "_@dora2:"+b.hs.ServerName, map[string]any{"user_id": "@dora2:" + b.hs.ServerName}); err == nil {
			t.Fatal("a clinician published an attestation")
		}
	})
}

var typeAttestation = event.Type{Type: "org.caldicott.attestation", Class: event.StateEventType}

// TestFederatedAttestationPinnedKey: trust A has pinned trust B's bot to a
// master key it does not have (as after a compromise or an unannounced
// reset); trust B's confirmation is refused, recorded as refused, and the
// IG team is told.
func TestFederatedAttestationPinnedKey(t *testing.T) {
	b := newTrust(t, "127.0.0.12", "", withEncryption)
	b.startCaldicott(t, true)
	wrong := strings.Repeat("A", 43)
	a := newTrust(t, "127.0.0.11", "", withEncryption+fmt.Sprintf(
		"federation: {servers: [%q], bot_keys: {%q: %q}}\n", b.hs.ServerName, b.botID(), wrong))
	a.startCaldicott(t, true)
	ig, mgmt := igAdmin(t, a)
	dora := newVerifier(t, b.hs.RegisterUser(t, "dora", false))
	dm := roomWithBot(t, dora.Client, b.botID(), &mautrix.ReqCreateRoom{Preset: "private_chat", IsDirect: true})
	dora.verifyMatching(t, dm, b.botID())
	waitForNotice(t, ig, mgmt, a.botID(), "The Caldicott of another trust, "+b.botID().String()+", now shows a different identity")
	eventually(t, 20*time.Second, "the refusal to be audited", func() (bool, string) {
		entries, err := a.store.AuditForRoom(ctx, attestationRoom(t, ig, b).String(), 10)
		if err != nil {
			return false, err.Error()
		}
		for _, e := range entries {
			if e.Action == "refused.attestation" && strings.Contains(e.Reason, "is not the pinned") {
				return true, ""
			}
		}
		return false, fmt.Sprint(entries)
	})
	if att, err := a.store.AttestationOf(ctx, dora.UserID.String()); err == nil {
		t.Fatalf("trust A recorded a confirmation from a bot with the wrong key: %+v", att)
	}
}

// TestFederatedAttestationKeyChange: trust A trusted trust B's bot on
// first use with a key B's bot no longer has (B's Caldicott was rebuilt).
// B's confirmations are refused until an IG admin of A, having checked the
// new fingerprint with trust B, accepts it with !policy trust-key; then
// they are read again.
func TestFederatedAttestationKeyChange(t *testing.T) {
	b := newTrust(t, "127.0.0.12", "", withEncryption)
	b.startCaldicott(t, true)
	a := newTrust(t, "127.0.0.11", "", withEncryption+fmt.Sprintf(
		"federation: {servers: [%q]}\n", b.hs.ServerName))
	st, err := store.Open(ctx, a.cfg.Database.Type, a.cfg.Database.URI, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetKV(ctx, "pinned_bot_key:"+b.botID().String(), strings.Repeat("B", 43)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	a.startCaldicott(t, true)
	ig, mgmt := igAdmin(t, a)
	dora := newVerifier(t, b.hs.RegisterUser(t, "dora", false))
	dm := roomWithBot(t, dora.Client, b.botID(), &mautrix.ReqCreateRoom{Preset: "private_chat", IsDirect: true})
	dora.verifyMatching(t, dm, b.botID())
	waitForNotice(t, ig, mgmt, a.botID(), "now shows a different identity", "type `!policy trust-key "+b.botID().String())
	if _, err := a.store.AttestationOf(ctx, dora.UserID.String()); err == nil {
		t.Fatal("recorded before the new key was accepted")
	}

	say(t, ig, mgmt, "!policy trust-key "+b.botID().String()+" "+spaced(strings.Repeat("C", 43)))
	waitForNotice(t, ig, mgmt, a.botID(), "That fingerprint does not match the identity "+b.botID().String()+" publishes")
	say(t, ig, mgmt, "!policy trust-key "+b.botID().String()+" "+spaced(botMasterKey(t, b)))
	waitForNotice(t, ig, mgmt, a.botID(), "Recorded: I now trust "+b.botID().String())
	eventually(t, 20*time.Second, "trust A to record dora's confirmation", func() (bool, string) {
		att, err := a.store.AttestationOf(ctx, dora.UserID.String())
		return err == nil && att.AttestedBy == b.botID().String(), fmt.Sprint(err)
	})
}

func attestationRoom(t *testing.T, cli *mautrix.Client, tr *trust) id.RoomID {
	t.Helper()
	resp, err := cli.ResolveAlias(ctx, id.RoomAlias("#caldicott-attestations:"+tr.hs.ServerName))
	if err != nil {
		t.Fatalf("trust's attestation room: %v", err)
	}
	return resp.RoomID
}
