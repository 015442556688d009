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

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// TestFederatedAttestation: a clinician of trust B in a clinical room of
// trust A must be confirmed by trust B. Unconfirmed, trust A suspends her
// after the grace; once she verifies with trust B's bot by emoji, trust B
// publishes the signed confirmation, trust A checks it against trust B's
// bot's master key, records it and invites her back.
func TestFederatedAttestation(t *testing.T) {
	b := trust.New(t, trust.Options{Host: "127.0.0.12", Encryption: true})
	b.Start(t)
	a := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true, ConfigYAML: fmt.Sprintf(
		"federation: {servers: [%q]}\nverification: {new_member_grace: 2s, check_interval: 1s}\n", b.HS.ServerName)})
	a.Start(t)
	alice := a.HS.RegisterUser(t, "alice", false)
	dora := newVerifier(t, b.HS.RegisterUser(t, "dora", false))

	room := a.ClinicalRoom(t, alice)
	if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: dora.UserID}); err != nil {
		t.Fatal(err)
	}
	// Accepted, not joined on her own server: trust A removes her at once.
	testenv.AcceptedOverFederation(t, dora.Client, room, a.HS.ServerName)
	waitGone(t, alice, room, dora.UserID, 30*time.Second)

	dm := testenv.RoomWithBot(t, dora.Client, b.BotID(), &mautrix.ReqCreateRoom{Preset: "private_chat", IsDirect: true})
	start := time.Now()
	dora.verifyMatching(t, dm, b.BotID())
	testenv.WaitMembership(t, alice, room, dora.UserID, "invite")
	t.Logf("trust A re-invited dora %s after she confirmed the emoji with trust B's bot", time.Since(start).Round(time.Millisecond))

	att, err := a.Store.AttestationOf(ctx, dora.UserID.String())
	if err != nil || att.AttestedBy != b.BotID().String() || !strings.Contains(att.Method, "emoji verification, by Trust B") {
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
		a.Stop(t)
		erin := newVerifier(t, b.HS.RegisterUser(t, "erin", false))
		erinDM := testenv.RoomWithBot(t, erin.Client, b.BotID(), &mautrix.ReqCreateRoom{Preset: "private_chat", IsDirect: true})
		erin.verifyMatching(t, erinDM, b.BotID())
		a.Start(t)
		testenv.Eventually(t, 20*time.Second, "trust A to record erin's confirmation", func() (bool, string) {
			att, err := a.Store.AttestationOf(ctx, erin.UserID.String())
			return err == nil && att.AttestedBy == b.BotID().String(), fmt.Sprint(err)
		})
	})

	t.Run("a leaver's confirmation is withdrawn everywhere", func(t *testing.T) {
		ig, mgmt := b.IGAdmin(t)
		testenv.Say(t, ig, mgmt, "!policy leaver "+dora.UserID.String()+" moved to another trust")
		testenv.WaitForNotice(t, ig, mgmt, b.BotID(), dora.UserID.String()+" is recorded as having left")
		testenv.Eventually(t, 20*time.Second, "trust A to forget dora's confirmation", func() (bool, string) {
			_, err := a.Store.AttestationOf(ctx, dora.UserID.String())
			return errors.Is(err, store.ErrNotFound), fmt.Sprint(err)
		})
		var content map[string]any
		if err := dora.StateEvent(ctx, attRoom, typeAttestation, "_"+dora.UserID.String(), &content); err != nil || len(content) != 0 {
			t.Fatalf("published after leaving: %v %v", content, err)
		}
		if _, err := b.Store.AttestationOf(ctx, dora.UserID.String()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("trust B still holds the confirmation: %v", err)
		}
	})

	t.Run("only the bot may publish", func(t *testing.T) {
		if _, err := dora.SendStateEvent(ctx, attRoom, typeAttestation, "_@dora2:"+b.HS.ServerName, map[string]any{"user_id": "@dora2:" + b.HS.ServerName}); err == nil {
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
	b := trust.New(t, trust.Options{Host: "127.0.0.12", Encryption: true})
	b.Start(t)
	wrong := strings.Repeat("A", 43)
	a := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true, ConfigYAML: fmt.Sprintf(
		"federation: {servers: [%q], bot_keys: {%q: %q}}\n", b.HS.ServerName, b.BotID(), wrong)})
	a.Start(t)
	ig, mgmt := a.IGAdmin(t)
	dora := newVerifier(t, b.HS.RegisterUser(t, "dora", false))
	dm := testenv.RoomWithBot(t, dora.Client, b.BotID(), &mautrix.ReqCreateRoom{Preset: "private_chat", IsDirect: true})
	dora.verifyMatching(t, dm, b.BotID())
	testenv.WaitForNotice(t, ig, mgmt, a.BotID(), "The Caldicott of another trust, "+b.BotID().String()+", now shows a different identity")
	testenv.Eventually(t, 20*time.Second, "the refusal to be audited", func() (bool, string) {
		entries, err := a.Store.AuditForRoom(ctx, attestationRoom(t, ig, b).String(), 10)
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
	if att, err := a.Store.AttestationOf(ctx, dora.UserID.String()); err == nil {
		t.Fatalf("trust A recorded a confirmation from a bot with the wrong key: %+v", att)
	}
}

// TestFederatedAttestationKeyChange: trust A trusted trust B's bot on
// first use with a key B's bot no longer has (B's Caldicott was rebuilt).
// B's confirmations are refused until an IG admin of A, having checked the
// new fingerprint with trust B, accepts it with !policy trust-key; then
// they are read again.
func TestFederatedAttestationKeyChange(t *testing.T) {
	b := trust.New(t, trust.Options{Host: "127.0.0.12", Encryption: true})
	b.Start(t)
	a := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true, ConfigYAML: fmt.Sprintf(
		"federation: {servers: [%q]}\n", b.HS.ServerName)})
	st, err := store.Open(ctx, a.Config.Database.Type, a.Config.Database.URI, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetKV(ctx, "pinned_bot_key:"+b.BotID().String(), strings.Repeat("B", 43)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	a.Start(t)
	ig, mgmt := a.IGAdmin(t)
	dora := newVerifier(t, b.HS.RegisterUser(t, "dora", false))
	dm := testenv.RoomWithBot(t, dora.Client, b.BotID(), &mautrix.ReqCreateRoom{Preset: "private_chat", IsDirect: true})
	dora.verifyMatching(t, dm, b.BotID())
	testenv.WaitForNotice(t, ig, mgmt, a.BotID(), "now shows a different identity", "type `!policy trust-key "+b.BotID().String())
	if _, err := a.Store.AttestationOf(ctx, dora.UserID.String()); err == nil {
		t.Fatal("recorded before the new key was accepted")
	}

	testenv.Say(t, ig, mgmt, "!policy trust-key "+b.BotID().String()+" "+spaced(strings.Repeat("C", 43)))
	testenv.WaitForNotice(t, ig, mgmt, a.BotID(), "That fingerprint does not match the identity "+b.BotID().String()+" publishes")
	testenv.Say(t, ig, mgmt, "!policy trust-key "+b.BotID().String()+" "+spaced(botMasterKey(t, b)))
	testenv.WaitForNotice(t, ig, mgmt, a.BotID(), "Recorded: I now trust "+b.BotID().String())
	testenv.Eventually(t, 20*time.Second, "trust A to record dora's confirmation", func() (bool, string) {
		att, err := a.Store.AttestationOf(ctx, dora.UserID.String())
		return err == nil && att.AttestedBy == b.BotID().String(), fmt.Sprint(err)
	})
}

func attestationRoom(t *testing.T, cli *mautrix.Client, tr *trust.Trust) id.RoomID {
	t.Helper()
	resp, err := cli.ResolveAlias(ctx, id.RoomAlias("#caldicott-attestations:"+tr.HS.ServerName))
	if err != nil {
		t.Fatalf("trust's attestation room: %v", err)
	}
	return resp.RoomID
}
