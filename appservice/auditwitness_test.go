//go:build goolm

package appservice_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/matrix-org/gomatrixserverlib"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/audittamper"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

// TestAuditVerifyReadsEveryPublishedHead: someone holding trust B's
// database and config (so its bot's keys) rewrites the audit chain,
// recomputes every hash and lets Caldicott publish a head of the rewritten
// chain, signed with the bot's own key. The current head then matches;
// `audit verify` still fails, because it reads every head ever published —
// from trust B's homeserver and from trust A's, where the operator of B
// cannot rewrite them — and the heads published before the rewrite are no
// longer points of the chain. It names the earliest such head and the
// homeservers that served it, reports a head signed with a key other than
// the one trust A pinned, and, with trust B's homeserver down, finds the
// rewrite from trust A's copy alone.
func TestAuditVerifyReadsEveryPublishedHead(t *testing.T) {
	s := newAnchorScenario(t)
	a, b, ig, mgmt, attRoom := s.a, s.b, s.ig, s.mgmt, s.attRoom
	dir := t.TempDir()

	// Several heads, each published once the log has moved on.
	var heads []publishedHead
	testenv.Eventually(t, 20*time.Second, "the first head", func() (bool, string) {
		h, ok := readHead(t, ig, attRoom)
		if ok {
			heads = append(heads, h)
		}
		return ok, "none yet"
	})
	for len(heads) < 3 {
		if len(heads) == 2 {
			// More than a page of /messages between two heads, so the
			// history is read across pages (sent as the bot: only it may
			// write in the attestation room).
			botCli := b.BotClient(t)
			for i := 0; i < 150; i++ {
				if _, err := botCli.SendText(ctx, attRoom, fmt.Sprint("filler ", i)); err != nil {
					t.Fatal(err)
				}
			}
		}
		testenv.Say(t, ig, mgmt, "!policy report")
		last := heads[len(heads)-1]
		testenv.Eventually(t, 20*time.Second, "a new head", func() (bool, string) {
			h, _ := readHead(t, ig, attRoom)
			if h.Seq > last.Seq {
				heads = append(heads, h)
				return true, ""
			}
			return false, fmt.Sprint(h.Seq)
		})
	}

	// Trust A pins trust B's bot key, as its IG team does after checking the
	// fingerprint; that pin is what the auditor checks the heads against.
	igA, mgmtA := a.IGAdmin(t)
	testenv.Say(t, igA, mgmtA, "!policy trust-key "+b.BotID().String()+" "+spaced(botMasterKey(t, b)))
	testenv.WaitForNotice(t, igA, mgmtA, a.BotID(), "Recorded: I now trust "+b.BotID().String())
	// Their IG team reads it from their audit log's pin_bot_key entry, as
	// docs/operations.md tells them.
	pinned := ""
	err := a.Store.AuditSince(ctx, time.Time{}, func(e store.AuditEntry) error {
		if m := regexp.MustCompile(`^` + regexp.QuoteMeta(b.BotID().String()) + `'s identity (\S+) accepted`).FindStringSubmatch(e.Reason); e.Action == "pin_bot_key" && m != nil {
			pinned = m[1]
		}
		return nil
	})
	if inStore, _, _ := a.Store.KV(ctx, "pinned_bot_key:"+b.BotID().String()); err != nil || pinned == "" || pinned != inStore {
		t.Fatalf("trust A's pin of %s: audit log %q, kept %q (%v)", b.BotID(), pinned, inStore, err)
	}

	// Trust A's IG team gives the auditor an ordinary account on their
	// homeserver that has joined trust B's attestation room.
	witness := a.HS.RegisterUser(t, "auditor", false)
	if _, err := witness.JoinRoom(ctx, "#caldicott-attestations:"+b.HS.ServerName, nil); err != nil {
		t.Fatalf("the witness account joins trust B's attestation room over federation: %v", err)
	}
	// The witness account is in other rooms too, one with a head of
	// someone else's (another trust's attestation room, say): not ours to judge.
	other, err := witness.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := witness.SendStateEvent(ctx, other.RoomID, typeAuditHead, "", map[string]any{"seq": 1, "hash": strings.Repeat("ab", 32)}); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "witness-token")
	if err := os.WriteFile(tokenFile, []byte(witness.AccessToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "trust A's homeserver to serve trust B's latest head", func() (bool, string) {
		var h publishedHead
		err := witness.StateEvent(ctx, attRoom, typeAuditHead, "", &h)
		return err == nil && h.Seq == heads[len(heads)-1].Seq, fmt.Sprint(h.Seq, err)
	})
	aHost, bHost := strings.TrimPrefix(a.HS.URL, "http://"), strings.TrimPrefix(b.HS.URL, "http://")

	verify := func(args ...string) (int, string) {
		t.Helper()
		return s.verify(t, append([]string{"-witness", a.HS.URL, "-witness-token-file", tokenFile, "-witness-key", pinned}, args...)...)
	}

	// Nothing more is recorded or published while the heads are counted.
	b.Stop(t)
	before := append(headHistory(t, ig, mgmt), headHistory(t, ig, attRoom)...)
	first, last := before[0].Seq, before[0].Seq
	for _, h := range before {
		first, last = min(first, h.Seq), max(last, h.Seq)
	}
	atFirst := 0
	for _, h := range before {
		if h.Seq == first {
			atFirst++
		}
	}

	t.Run("every head published so far holds", func(t *testing.T) {
		code, out := verify()
		if code != 0 || !strings.Contains(out, "Audit log intact") {
			t.Fatalf("verify: exit %d, want 0", code)
		}
		if strings.Contains(out, other.RoomID.String()) {
			t.Errorf("a room where our bot never published was judged: %s", other.RoomID)
		}
		for _, want := range []string{
			"Read the history of the published heads from " + bHost + ": the management room (",
			"Read the history of the published heads from " + aHost + ": the attestation room (",
			"(pinned by the trust of " + aHost + ")",
			fmt.Sprintf("It holds all %d head(s) ever published (entries %d to %d", len(before), first, last),
		} {
			if !strings.Contains(out, want) {
				t.Errorf("verify said nothing like %q", want)
			}
		}
	})

	// The attacker: rewrites entry 1 with Caldicott stopped, recomputes the
	// hashes, starts Caldicott again and records something, so a head of
	// the rewritten chain is published and signed with the bot's own key.
	st, err := store.Open(ctx, b.Config.Database.Type, b.Config.Database.URI, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := audittamper.Rewrite(ctx, st, 1, func(e *store.AuditEntry) { e.Reason = "nothing to see here" }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	b.Start(t)
	testenv.Say(t, ig, mgmt, "!policy report")
	var resigned publishedHead
	testenv.Eventually(t, 20*time.Second, "a head of the rewritten chain, re-signed", func() (bool, string) {
		resigned, _ = readHead(t, ig, attRoom)
		return resigned.Seq > heads[len(heads)-1].Seq, fmt.Sprint(resigned.Seq)
	})
	checkHeadSignature(t, ig, b.BotID(), resigned)
	b.Stop(t)
	testenv.Eventually(t, 30*time.Second, "trust A's homeserver to serve the re-signed head", func() (bool, string) {
		var h publishedHead
		err := witness.StateEvent(ctx, attRoom, typeAuditHead, "", &h)
		return err == nil && h.Seq == resigned.Seq, fmt.Sprint(h.Seq, err)
	})
	earliest := fmt.Sprintf("the earliest published head the database no longer holds is entry %d, published on ", first)

	t.Run("a rewrite shows even when re-signed", func(t *testing.T) {
		code, out := verify("-local")
		if code != 0 {
			t.Fatalf("verify -local: exit %d, want 0 (the database alone cannot tell):\n%s", code, out)
		}
		code, out = verify()
		if code != 4 || !strings.Contains(out, "AUDIT LOG TAMPERED WITH") {
			t.Fatalf("verify after the rewrite: exit %d, want 4", code)
		}
		// The current heads are the attacker's and match: only the history tells.
		for _, want := range []string{"It matches the head published in the management room", "It matches the head published in the attestation room"} {
			if !strings.Contains(out, want) {
				t.Errorf("the re-signed current head should match (%q); only the history should fail", want)
			}
		}
		line := problemLine(out, earliest)
		if line == "" {
			t.Fatalf("verify does not name the earliest mismatching head, entry %d", first)
		}
		for _, want := range []string{
			"in the attestation room (" + attRoom.String() + ") (event ",
			"served by " + bHost + " and " + aHost,
			fmt.Sprintf("the log was rewritten from entry %d or earlier", first),
			fmt.Sprintf("%d later published head(s) do not match either", len(before)-atFirst),
		} {
			if !strings.Contains(line, want) {
				t.Errorf("the earliest mismatch says nothing like %q:\n%s", want, line)
			}
		}
	})

	t.Run("a head signed with a key other than the pinned one", func(t *testing.T) {
		// Whoever holds the config holds the appservice token and can write
		// state as the bot; here with a key of their own.
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		forgedKey := base64.RawStdEncoding.EncodeToString(pub)
		body, _ := json.Marshal(map[string]any{"seq": resigned.Seq, "hash": resigned.Hash, "trust": "Trust B", "published_at": time.Now().UnixMilli()})
		signed, err := gomatrixserverlib.SignJSON(b.BotID().String(), gomatrixserverlib.KeyID("ed25519:"+forgedKey), priv, body)
		if err != nil {
			t.Fatal(err)
		}
		forged, err := b.BotClient(t).SendStateEvent(ctx, attRoom, typeAuditHead, "", json.RawMessage(signed))
		if err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 30*time.Second, "trust A's homeserver to hold the forged head", func() (bool, string) {
			var h map[string]any
			err := witness.StateEvent(ctx, attRoom, typeAuditHead, "", &h)
			_, has := h["signatures"].(map[string]any)[b.BotID().String()].(map[string]any)["ed25519:"+forgedKey]
			return err == nil && has, fmt.Sprint(err)
		})
		code, out := verify()
		line := problemLine(out, forged.EventID.String())
		if code != 4 || line == "" {
			t.Fatalf("verify: exit %d; the forged head %s not reported", code, forged.EventID)
		}
		for _, want := range []string{"cannot be trusted", "it is signed with " + spaced(forgedKey), "not with the key " + spaced(pinned), "served by " + bHost + " and " + aHost} {
			if !strings.Contains(line, want) {
				t.Errorf("the forged head's report says nothing like %q:\n%s", want, line)
			}
		}
	})

	t.Run("an earlier head redacted, on every homeserver: reported", func(t *testing.T) {
		// The redaction federates, so it empties the witness's copy too;
		// the head is lost, but its loss is not hidden.
		hist, err := witness.Messages(ctx, attRoom, "", "", mautrix.DirectionBackward, nil, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var oldest id.EventID
		for _, evt := range hist.Chunk {
			if evt.Type.Type == typeAuditHead.Type {
				oldest = evt.ID
			}
		}
		if _, err := b.BotClient(t).RedactEvent(ctx, attRoom, oldest); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 30*time.Second, "trust A's homeserver to redact its copy", func() (bool, string) {
			evt, err := witness.GetEvent(ctx, attRoom, oldest)
			return err == nil && evt.Unsigned.RedactedBecause != nil, fmt.Sprint(err)
		})
		code, out := verify()
		line := problemLine(out, oldest.String())
		if code != 4 || !strings.Contains(line, "cannot be trusted: it was redacted by "+b.BotID().String()) || !strings.Contains(line, "served by "+bHost+" and "+aHost) {
			t.Fatalf("verify: exit %d; the redacted head %s is not reported as redacted:\n%s", code, oldest, line)
		}
	})

	t.Run("trust B's homeserver down: trust A's copy alone shows the rewrite", func(t *testing.T) {
		b.HS.Stop()
		code, out := verify()
		if code != 4 || !strings.Contains(out, "the homeserver cannot be reached") {
			t.Fatalf("verify with trust B's homeserver down: exit %d, want 4", code)
		}
		line := problemLine(out, "the earliest published head the database no longer holds is entry ")
		if line == "" || !strings.Contains(line, "served by "+aHost+")") || strings.Contains(line, bHost) {
			t.Fatalf("the rewrite must be named as trust A's homeserver alone serves it:\n%s", line)
		}
	})
}

// problemLine is the line of verify's output that contains s, or "".
func problemLine(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// headHistory is every audit head sent in room, oldest first, as cli's
// homeserver serves the room's timeline (read here without Caldicott's code).
func headHistory(t *testing.T, cli *mautrix.Client, room id.RoomID) []publishedHead {
	t.Helper()
	var out []publishedHead
	from := ""
	for {
		resp, err := cli.Messages(ctx, room, from, "", mautrix.DirectionBackward, nil, 100)
		if err != nil {
			t.Fatalf("history of %s: %v", room, err)
		}
		for _, evt := range resp.Chunk {
			if evt.Type.Type == typeAuditHead.Type {
				var h publishedHead
				_ = json.Unmarshal(evt.Content.VeryRaw, &h)
				out = append([]publishedHead{h}, out...)
			}
		}
		if len(resp.Chunk) == 0 || resp.End == "" || resp.End == from {
			return out
		}
		from = resp.End
	}
}
