//go:build goolm

package appservice_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matrix-org/gomatrixserverlib"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/audittamper"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

var typeAuditHead = event.Type{Type: "org.caldicott.audit.head", Class: event.StateEventType}

// publishedHead is the audit head state of a room as cli's homeserver holds
// it: its seq, hash and publication time, and the raw content.
type publishedHead struct {
	Seq         int64  `json:"seq"`
	Hash        string `json:"hash"`
	PublishedAt int64  `json:"published_at"`
	raw         json.RawMessage
}

func readHead(t *testing.T, cli *mautrix.Client, room id.RoomID) (publishedHead, bool) {
	t.Helper()
	var raw json.RawMessage
	if err := cli.StateEvent(ctx, room, typeAuditHead, "", &raw); err != nil {
		if strings.Contains(err.Error(), "M_NOT_FOUND") {
			return publishedHead{}, false
		}
		t.Fatalf("read the audit head of %s: %v", room, err)
	}
	var h publishedHead
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	h.raw = raw
	return h, true
}

// checkHeadSignature verifies, independently of Caldicott's code, that the
// head is signed by the bot's cross-signing master key as its homeserver
// publishes it.
func checkHeadSignature(t *testing.T, cli *mautrix.Client, bot id.UserID, h publishedHead) {
	t.Helper()
	keys, err := cli.QueryKeys(ctx, &mautrix.ReqQueryKeys{DeviceKeys: mautrix.DeviceKeysRequest{bot: mautrix.DeviceIDList{}}})
	if err != nil {
		t.Fatal(err)
	}
	mk, ok := keys.MasterKeys[bot]
	if !ok {
		t.Fatalf("the bot publishes no master key")
	}
	master := strings.TrimRight(mk.FirstKey().String(), "=")
	pub, err := base64.RawStdEncoding.DecodeString(master)
	if err != nil {
		t.Fatal(err)
	}
	if err := gomatrixserverlib.VerifyJSON(bot.String(), gomatrixserverlib.KeyID("ed25519:"+master), ed25519.PublicKey(pub), h.raw); err != nil {
		t.Fatalf("the published head's signature does not verify against the bot's master key: %v\n%s", err, h.raw)
	}
}

// TestAuditHeadAnchorsTheLog: the audit chain's head is published, signed
// by the bot's master key, in the management room and the attestation room
// (whose copy the other trust's homeserver holds, even with this trust's
// homeserver down); it is published again only when the log changed. An
// attacker who rewrites an old entry and recomputes every hash after it
// leaves a chain `audit verify -local` finds intact — and `audit verify`
// catches it against the published head, as it catches a chain cut short.
func TestAuditHeadAnchorsTheLog(t *testing.T) {
	s := newAnchorScenario(t)
	a, b, ig, mgmt, attRoom := s.a, s.b, s.ig, s.mgmt, s.attRoom
	verify := func(args ...string) (int, string) { t.Helper(); return s.verify(t, args...) }

	// The head is published in both rooms, signed, and names the chain's
	// last entry but the publication's own.
	var first publishedHead
	testenv.Eventually(t, 20*time.Second, "the audit head published in the management room", func() (bool, string) {
		h, ok := readHead(t, ig, mgmt)
		first = h
		return ok, "none yet"
	})
	checkHeadSignature(t, ig, b.BotID(), first)
	entry, err := b.Store.AuditEntryAt(ctx, first.Seq)
	if err != nil || entry.Hash != first.Hash {
		t.Fatalf("published entry %d with hash %s; the database holds %+v (%v)", first.Seq, first.Hash, entry, err)
	}
	inAtt, ok := readHead(t, ig, attRoom)
	if !ok || inAtt.Seq != first.Seq || inAtt.Hash != first.Hash {
		t.Fatalf("attestation room head %+v, management room head %+v", inAtt, first)
	}
	checkHeadSignature(t, ig, b.BotID(), inAtt)

	t.Run("published again only when the log changed", func(t *testing.T) {
		seq, _, err := b.Store.AuditHead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		testenv.Quiet(t, 3500*time.Millisecond, "no head published again with nothing new recorded (three intervals)", func() (bool, string) {
			h, _ := readHead(t, ig, mgmt)
			return h.Seq == first.Seq && h.PublishedAt == first.PublishedAt, fmt.Sprintf("%+v, first %+v", h, first)
		})
		if now, _, _ := b.Store.AuditHead(ctx); now != seq {
			t.Fatalf("the log grew from %d to %d with nothing happening (a publication for its own entries?)", seq, now)
		}
		testenv.Say(t, ig, mgmt, "!policy report")
		testenv.WaitForNotice(t, ig, mgmt, b.BotID(), "Staff directory")
		testenv.Eventually(t, 20*time.Second, "a new head published", func() (bool, string) {
			h, _ := readHead(t, ig, mgmt)
			return h.Seq > first.Seq, fmt.Sprint(h.Seq)
		})
	})

	t.Run("the other trust's homeserver holds a copy", func(t *testing.T) {
		// Read with trust A's appservice token from trust A's homeserver,
		// once trust A's bot has joined trust B's attestation room.
		aBot, err := mautrix.NewClient(a.HS.URL, a.BotID(), a.Config.AppService.ASToken)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := readHead(t, ig, attRoom)
		testenv.Eventually(t, 30*time.Second, "trust A's homeserver to hold trust B's head", func() (bool, string) {
			var h publishedHead
			err := aBot.StateEvent(ctx, attRoom, typeAuditHead, "", &h)
			return err == nil && h.Seq == want.Seq && h.Hash == want.Hash, fmt.Sprint(h, err)
		})
	})

	code, out := verify()
	if code != 0 || !strings.Contains(out, "Audit log intact") || !strings.Contains(out, "It matches the head published in the management room") || !strings.Contains(out, "It matches the head published in the attestation room") {
		t.Fatalf("verify before tampering: exit %d\n%s", code, out)
	}
	published, _ := readHead(t, ig, mgmt)
	b.Stop(t) // nothing more is written or published
	st, err := store.Open(ctx, b.Config.Database.Type, b.Config.Database.URI, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	t.Run("a chain rewritten with its hashes is caught only by the published head", func(t *testing.T) {
		if err := audittamper.Rewrite(ctx, st, 2, func(e *store.AuditEntry) { e.Reason = "nothing to see here" }); err != nil {
			t.Fatal(err)
		}
		if r, err := st.VerifyAudit(ctx); err != nil || !r.OK() {
			t.Fatalf("the rewrite must leave a consistent chain: %+v %v", r, err)
		}
		code, out := verify("-local")
		if code != 0 || !strings.Contains(out, "Audit log intact") {
			t.Fatalf("verify -local: exit %d, want 0 (the database alone cannot tell)\n%s", code, out)
		}
		code, out = verify()
		want := fmt.Sprintf("entry %d in the database is not the entry %d published in the management room", published.Seq, published.Seq)
		if code != 4 || !strings.Contains(out, "AUDIT LOG TAMPERED WITH") || !strings.Contains(out, want) || !strings.Contains(out, "rewritten from entry") {
			t.Fatalf("verify after the rewrite: exit %d, want 4 and %q\n%s", code, want, out)
		}
	})

	t.Run("a chain cut short below the published entry", func(t *testing.T) {
		cut := published.Seq - 1
		for _, q := range []string{
			fmt.Sprintf(`DELETE FROM audit_log WHERE seq > %d`, cut),
			fmt.Sprintf(`UPDATE audit_head SET seq = %d, hash = (SELECT hash FROM audit_log WHERE seq = %d) WHERE id = 1`, cut, cut),
		} {
			if err := audittamper.Run(ctx, st, q); err != nil {
				t.Fatal(err)
			}
		}
		if code, out := verify("-local"); code != 0 {
			t.Fatalf("verify -local after cutting the chain: exit %d\n%s", code, out)
		}
		code, out := verify()
		want := fmt.Sprintf("entry %d was published in the management room", published.Seq)
		if code != 4 || !strings.Contains(out, want) || !strings.Contains(out, fmt.Sprintf("ends at entry %d: entries were deleted", cut)) {
			t.Fatalf("verify after cutting the chain: exit %d, want 4 and %q\n%s", code, want, out)
		}
	})

	t.Run("the homeserver unreachable: said, and the local chain still checked", func(t *testing.T) {
		b.HS.Stop()
		code, out := verify()
		if code != 1 || !strings.Contains(out, "Audit log intact") || !strings.Contains(out, "NOT COMPARED with the head published outside the database: the homeserver cannot be reached") {
			t.Fatalf("verify with the homeserver down: exit %d, want 1\n%s", code, out)
		}
		// Trust A's homeserver still holds trust B's last head.
		aBot, _ := mautrix.NewClient(a.HS.URL, a.BotID(), a.Config.AppService.ASToken)
		var h publishedHead
		if err := aBot.StateEvent(ctx, attRoom, typeAuditHead, "", &h); err != nil || h.Hash == "" {
			t.Fatalf("trust A's copy with trust B down: %+v %v", h, err)
		}
	})
}

// anchorScenario is trust B publishing its audit head (every second) and
// trust A following B's attestation room, with B's IG admin in it, and B's
// config written out for the CLI built without failpoints.
type anchorScenario struct {
	bin, cfgPath  string
	a, b          *trust.Trust
	ig            *mautrix.Client
	mgmt, attRoom id.RoomID
}

func newAnchorScenario(t *testing.T) *anchorScenario {
	t.Helper()
	s := &anchorScenario{bin: failpointBinary(t)} // no CALDICOTT_FAILPOINT: an ordinary binary
	s.b = trust.New(t, trust.Options{Host: "127.0.0.12", Encryption: true, ConfigYAML: "audit: {publish_interval: 1s}\n"})
	s.cfgPath = filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(s.cfgPath, []byte(s.b.YAML), 0o600); err != nil {
		t.Fatal(err)
	}
	s.b.Start(t)
	// Trust A follows trust B's attestation room, derived from B's server name (port included).
	s.a = trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: fmt.Sprintf(
		"federation: {servers: [%q]}\nverification: {check_interval: 1s}\n", s.b.HS.ServerName)})
	s.a.Start(t)
	s.ig, s.mgmt = s.b.IGAdmin(t)
	s.attRoom = attestationRoom(t, s.ig, s.b)
	if _, err := s.ig.JoinRoomByID(ctx, s.attRoom); err != nil {
		t.Fatalf("the IG admin joins the public attestation room: %v", err)
	}
	return s
}

// verify runs `caldicott audit verify` on trust B's config with args and
// returns its exit code and output.
func (s *anchorScenario) verify(t *testing.T, args ...string) (int, string) {
	t.Helper()
	args = append([]string{"audit", "verify", "-c", s.cfgPath}, args...)
	out, err := exec.Command(s.bin, args...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("caldicott %s → exit %d\n%s", strings.Join(args, " "), code, out)
	return code, string(out)
}
