package appservice_test

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// TestIdentityVerification: members' cross-signing read from real Dendrite,
// checked cryptographically, confirmed by an IG admin in person; a new
// unsigned device and a reset identity are each seen.
func TestIdentityVerification(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	bob := tr.HS.RegisterUser(t, "bob", false)
	ig, mgmt := tr.IGAdmin(t)
	// Alice sets up cross-signing and verifies her device, as Element does.
	phone := testenv.NewSigningKey()
	testenv.UploadDevice(t, alice, phone)
	cs := testenv.NewCrossSigning(alice.UserID.String())
	testenv.UploadCrossSigning(t, alice, "correct horse battery alice", cs, cs.SelfSigningJSON(cs.Master))
	testenv.SignDevice(t, alice, cs, cs.SelfSigning, phone)
	// Bob has a device but never set up cross-signing.
	testenv.UploadDevice(t, bob, testenv.NewSigningKey())

	verification := func(user, want string) {
		t.Helper()
		testenv.Say(t, ig, mgmt, "!policy verification "+user)
		testenv.WaitForNotice(t, ig, mgmt, bot, user+": "+want)
	}
	verification(alice.UserID.String(), "⚠ not yet confirmed by the trust")
	verification(bob.UserID.String(), "❌ no cross-signing")

	t.Run("wrong fingerprint records nothing", func(t *testing.T) {
		other := testenv.NewSigningKey()
		testenv.Say(t, ig, mgmt, "!policy attest "+alice.UserID.String()+" "+spaced(other.Pub))
		testenv.WaitForNotice(t, ig, mgmt, bot, "That fingerprint does not match the identity")
		verification(alice.UserID.String(), "⚠ not yet confirmed by the trust")
	})

	t.Run("in-person attestation", func(t *testing.T) {
		testenv.Say(t, ig, mgmt, "!policy attest "+alice.UserID.String()+" "+spaced(cs.Master.Pub)+" -- badge and face checked on Ward 7")
		testenv.WaitForNotice(t, ig, mgmt, bot, "Recorded: "+alice.UserID.String()+"'s identity")
		verification(alice.UserID.String(), "✅ verified")
	})

	t.Run("status lists members' verification", func(t *testing.T) {
		room := tr.ClinicalRoom(t, alice, bob)
		testenv.Say(t, alice, room, "!policy status")
		testenv.WaitForNotice(t, alice, room, bot, "Members' identity verification:", alice.UserID.String()+": ✅ verified", bob.UserID.String()+": ❌ no cross-signing")
	})

	t.Run("new unverified device", func(t *testing.T) {
		laptop, err := mautrix.NewClient(tr.HS.URL, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := laptop.Login(ctx, &mautrix.ReqLogin{Type: mautrix.AuthTypePassword, Identifier: mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: "alice"}, Password: "correct horse battery alice", StoreCredentials: true}); err != nil {
			t.Fatal(err)
		}
		testenv.UploadDevice(t, laptop, testenv.NewSigningKey())
		verification(alice.UserID.String(), "⚠ has an unverified device")
	})

	t.Run("identity reset", func(t *testing.T) {
		reset := testenv.NewCrossSigning(alice.UserID.String())
		testenv.UploadCrossSigning(t, alice, "correct horse battery alice", reset, reset.SelfSigningJSON(reset.Master))
		verification(alice.UserID.String(), "❌ identity changed")
	})
}

// spaced writes a key as Element shows it, in groups of four.
func spaced(key string) string {
	var parts []string
	for i := 0; i < len(key); i += 4 {
		parts = append(parts, key[i:min(i+4, len(key))])
	}
	return strings.Join(parts, " ")
}
