//go:build goolm

package appservice_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/verification"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// TestKeysResetAfterTheDatabaseIsLost: a trust loses Caldicott's database.
// Started on a new one, the bot has a new device but cannot publish new
// cross-signing keys (Dendrite asks for a password the bot does not have),
// so emoji verification is off. `caldicott keys reset` publishes new keys
// through Dendrite's password check, with a one-time password set through
// the admin API; started again, the bot verifies members by emoji and signs
// them with its new keys.
func TestKeysResetAfterTheDatabaseIsLost(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true, ConfigYAML: "verification: {prompt: disabled}\n"})
	admin := tr.HS.RegisterUser(t, "operator", true)
	tr.Start(t)
	original := botMasterKey(t, tr)
	if original == "" {
		t.Fatal("the bot published no identity")
	}
	tr.Stop(t)

	tr.Config.Database.URI = filepath.Join(t.TempDir(), "new.db")
	tr.Start(t)
	lost := "The bot has no cross-signing identity: emoji verification is off"
	if log := trust.Tail(tr.LogPath, 1<<20); strings.Count(log, lost) != 1 {
		t.Fatalf("on a new database the bot should fail to publish new keys once:\n%s", trust.Tail(tr.LogPath, 4000))
	}
	tr.Stop(t)

	st, err := store.Open(ctx, store.SQLite, tr.Config.Database.URI, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verification.ResetBotIdentity(ctx, tr.Config, st, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "homeserver.admin_token") {
		t.Fatalf("reset without an admin token: %v", err)
	}
	tr.Config.Homeserver.AdminToken = admin.AccessToken
	r, err := verification.ResetBotIdentity(ctx, tr.Config, st, zerolog.Nop())
	if err != nil {
		st.Close()
		t.Fatalf("keys reset: %v", err)
	}
	if r.Previous != original || r.MasterKey == "" || r.MasterKey == original {
		t.Errorf("reset from %q to %q; the homeserver showed %q", r.Previous, r.MasterKey, original)
	}
	if got := botMasterKey(t, tr); got != r.MasterKey {
		t.Errorf("the homeserver shows %q after the reset, want the new %q", got, r.MasterKey)
	}
	_, err = verification.ResetBotIdentity(ctx, tr.Config, st, zerolog.Nop())
	st.Close()
	if !errors.Is(err, verification.ErrBotIdentityIntact) {
		t.Fatalf("a second reset: %v", err)
	}

	tr.Start(t)
	if log := trust.Tail(tr.LogPath, 1<<20); strings.Count(log, lost) != 1 {
		t.Errorf("after the reset the bot still has no identity:\n%s", trust.Tail(tr.LogPath, 4000))
	}
	bot := tr.BotID()
	carol := newVerifier(t, tr.HS.RegisterUser(t, "carol", false))
	dm := testenv.RoomWithBot(t, carol.Client, bot, &mautrix.ReqCreateRoom{Preset: "private_chat", IsDirect: true})
	carol.verifyMatching(t, dm, bot)
	testenv.WaitForNotice(t, carol.Client, dm, bot, "✅ "+carol.UserID.String()+": identity", "confirmed by emoji verification")
}

// TestKeysResetSignsTheConfirmationsAgain: the bot's published
// confirmations are signed by its master key. After a reset, the next start
// signs every one again with the new key (the other trusts read them again
// once their IG admins accept it, and notice the new identity by them).
func TestKeysResetSignsTheConfirmationsAgain(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true, ConfigYAML: "verification: {prompt: disabled}\n"})
	tr.Config.Homeserver.AdminToken = tr.HS.RegisterUser(t, "operator", true).AccessToken
	tr.Start(t)
	bot := tr.BotID()
	carol := newVerifier(t, tr.HS.RegisterUser(t, "carol", false))
	dm := testenv.RoomWithBot(t, carol.Client, bot, &mautrix.ReqCreateRoom{Preset: "private_chat", IsDirect: true})
	carol.verifyMatching(t, dm, bot)
	testenv.WaitForNotice(t, carol.Client, dm, bot, "✅ "+carol.UserID.String()+": identity", "confirmed by emoji verification")
	botCli := tr.BotClient(t)
	room := attestationRoom(t, botCli, tr)
	original := botMasterKey(t, tr)
	waitSignedBy(t, botCli, room, carol.UserID, bot, original)
	tr.Stop(t)

	// The keys are lost, the rest of the database is not.
	st, err := store.Open(ctx, store.SQLite, tr.Config.Database.URI, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().Exec(ctx, `DELETE FROM kv WHERE key = 'bot_cross_signing_seeds'`); err != nil {
		t.Fatal(err)
	}
	r, err := verification.ResetBotIdentity(ctx, tr.Config, st, zerolog.Nop())
	st.Close()
	if err != nil || r.Previous != original {
		t.Fatalf("keys reset: %+v %v", r, err)
	}
	tr.Start(t)
	waitSignedBy(t, botCli, room, carol.UserID, bot, r.MasterKey)
	if v, _, err := tr.Store.KV(ctx, "resign_attestations"); err != nil || v != "" {
		t.Errorf("the confirmations are still marked to be signed again: %q %v", v, err)
	}
}

// waitSignedBy waits until user's published confirmation is signed by the
// bot's master key key.
func waitSignedBy(t *testing.T, cli *mautrix.Client, room id.RoomID, user, bot id.UserID, key string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, "the confirmation of "+user.String()+" signed by "+key, func() (bool, string) {
		var content struct {
			Signatures map[id.UserID]map[string]string `json:"signatures"`
		}
		if err := cli.StateEvent(ctx, room, typeAttestation, "_"+user.String(), &content); err != nil {
			return false, err.Error()
		}
		_, ok := content.Signatures[bot]["ed25519:"+key]
		return ok, fmt.Sprint(content.Signatures)
	})
}

// TestKeysResetToldToTheOtherTrusts: trust B's bot loses its keys and its
// operator resets them. Trust A, which trusted B's old identity, sees the
// confirmations B's bot signs again with the new key, tells its IG admin,
// and once the admin accepts the new fingerprint reads them again.
func TestKeysResetToldToTheOtherTrusts(t *testing.T) {
	b := trust.New(t, trust.Options{Host: "127.0.0.12", Encryption: true, ConfigYAML: "verification: {prompt: disabled}\n"})
	b.Config.Homeserver.AdminToken = b.HS.RegisterUser(t, "operator", true).AccessToken
	b.Start(t)
	a := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true, ConfigYAML: fmt.Sprintf(
		"federation: {servers: [%q]}\n", b.HS.ServerName)})
	a.Start(t)
	ig, mgmt := a.IGAdmin(t)
	dora := newVerifier(t, b.HS.RegisterUser(t, "dora", false))
	dm := testenv.RoomWithBot(t, dora.Client, b.BotID(), &mautrix.ReqCreateRoom{Preset: "private_chat", IsDirect: true})
	dora.verifyMatching(t, dm, b.BotID())
	testenv.Eventually(t, 30*time.Second, "trust A to record dora's confirmation", func() (bool, string) {
		att, err := a.Store.AttestationOf(ctx, dora.UserID.String())
		return err == nil && att.AttestedBy == b.BotID().String(), fmt.Sprint(err)
	})
	original := botMasterKey(t, b)
	b.Stop(t)

	st, err := store.Open(ctx, store.SQLite, b.Config.Database.URI, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().Exec(ctx, `DELETE FROM kv WHERE key = 'bot_cross_signing_seeds'`); err != nil {
		t.Fatal(err)
	}
	r, err := verification.ResetBotIdentity(ctx, b.Config, st, zerolog.Nop())
	st.Close()
	if err != nil || r.Previous != original {
		t.Fatalf("keys reset: %+v %v", r, err)
	}
	b.Start(t)
	testenv.WaitForNotice(t, ig, mgmt, a.BotID(), "now shows a different identity", "type `!policy trust-key "+b.BotID().String())
	testenv.Say(t, ig, mgmt, "!policy trust-key "+b.BotID().String()+" "+spaced(r.MasterKey))
	testenv.WaitForNotice(t, ig, mgmt, a.BotID(), "Recorded: I now trust "+b.BotID().String())
	testenv.Eventually(t, 20*time.Second, "trust A to hold dora's confirmation under the new key", func() (bool, string) {
		att, err := a.Store.AttestationOf(ctx, dora.UserID.String())
		return err == nil && att.AttestedBy == b.BotID().String(), fmt.Sprint(err)
	})
}
