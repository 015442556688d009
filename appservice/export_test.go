//go:build goolm

package appservice_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// exportedMessage is the part of a messages.jsonl line the test checks.
type exportedMessage struct {
	RoomID    string   `json:"room_id"`
	EventID   string   `json:"event_id"`
	Sender    string   `json:"sender"`
	Type      string   `json:"type"`
	Encrypted bool     `json:"encrypted"`
	MatchedBy []string `json:"matched_by"`
	Content   struct {
		Body string `json:"body"`
	} `json:"content"`
}

// TestSubjectAccessExport: clinicians talk in an encrypted clinical room and
// an unencrypted one; one message mentions Bob, the room admin then removes
// him. `caldicott export` for Bob holds exactly the messages he sent or that
// name him — those in the encrypted room decrypted with the bot's stored
// keys — and exactly the audit entries about him, with checksums that
// match; the admin API refuses a missing or wrong token and with the right
// one returns the same bundle; each export is audited without content.
func TestSubjectAccessExport(t *testing.T) {
	bin := failpointBinary(t) // an ordinary binary
	adminToken := randomHex(20)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true, ConfigYAML: fmt.Sprintf("verification: {mode: off}\naudit: {publish_interval: 0s}\nadmin_api: {token: %q}\n", adminToken)})
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(tr.YAML), 0o600); err != nil {
		t.Fatal(err)
	}
	tr.Start(t)
	alice := newEncryptedClient(t, tr.HS.RegisterUser(t, "alice", false))
	bob := newEncryptedClient(t, tr.HS.RegisterUser(t, "bob", false))
	carol := tr.HS.RegisterUser(t, "carol", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
		{UserID: bob.UserID.String(), Name: "Bob Jones", Role: "Registrar", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	clinical := tr.ClinicalRoom(t, alice.Client, bob.Client)
	for _, c := range []*encryptedClient{alice, bob} {
		testenv.Eventually(t, 20*time.Second, "the clients to see the room as encrypted", func() (bool, string) {
			enc, _ := c.StateStore.IsEncrypted(ctx, clinical)
			return enc, ""
		})
	}
	// An unencrypted room the bot is in (not classified).
	plain := testenv.RoomWithBot(t, alice.Client, tr.BotID(), &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{bob.UserID, carol.UserID}})
	for _, c := range []*mautrix.Client{bob.Client, carol} {
		if _, err := c.JoinRoomByID(ctx, plain); err != nil {
			t.Fatal(err)
		}
	}
	since := nextSecond()

	sendText := func(c *mautrix.Client, room id.RoomID, body string, mentions ...id.UserID) {
		t.Helper()
		content := &event.MessageEventContent{MsgType: event.MsgText, Body: body}
		if len(mentions) > 0 {
			content.Mentions = &event.Mentions{UserIDs: mentions}
		}
		if _, err := c.SendMessageEvent(ctx, room, event.EventMessage, content); err != nil {
			t.Fatalf("send %q: %v", body, err)
		}
	}
	sendText(alice.Client, clinical, "Handover: bed 4 needs a review tonight")
	sendText(alice.Client, clinical, "Bob, can you take bed 4?", bob.UserID)
	sendText(bob.Client, clinical, "On my way")
	sendText(carol, plain, "Rota for next week is up")
	sendText(carol, plain, "Swap with "+bob.UserID.String()+"? I can do Tuesday.")
	sendText(bob.Client, plain, "Fine by me")
	sendText(alice.Client, clinical, "!policy remove "+bob.UserID.String()+" shift over")
	waitGone(t, alice.Client, clinical, bob.UserID, 20*time.Second)
	alice.waitFor(t, clinical, tr.BotID(), "I have removed "+bob.UserID.String())
	for _, w := range []struct {
		from id.UserID
		room id.RoomID
		text string
	}{{bob.UserID, clinical, "On my way"}, {bob.UserID, plain, "Fine by me"}, {carol.UserID, plain, "I can do Tuesday"}} {
		alice.waitFor(t, w.room, w.from, w.text)
	}
	// The bot's device holds the keys of alice's and bob's sessions.
	for _, c := range []*encryptedClient{alice, bob} {
		key := c.Crypto.(*cryptohelper.CryptoHelper).Machine().OwnIdentity().IdentityKey
		testenv.Eventually(t, 20*time.Second, "the bot to hold "+c.UserID.String()+"'s room key", func() (bool, string) {
			var n int
			err := tr.Store.DB().QueryRow(ctx, `SELECT COUNT(*) FROM crypto_megolm_inbound_session WHERE room_id = $1 AND sender_key = $2`, clinical.String(), key.String()).Scan(&n)
			return err == nil && n > 0, fmt.Sprint(n, err)
		})
	}
	until := nextSecond()
	testenv.WaitUntil(until.Add(1100 * time.Millisecond)) // the exports' own audit entries fall outside the range
	untilText := until.Format(time.RFC3339)               // both ends are included: until's second, no later

	// What Bob's export must hold, as alice's own client decrypted it and as
	// the audit log holds it.
	var wantMessages []string
	alice.mu.Lock()
	for _, evt := range alice.received {
		ts := time.UnixMilli(evt.Timestamp)
		if ts.Before(since) || ts.After(until.Add(time.Second)) {
			continue
		}
		msg := evt.Content.AsMessage()
		named := strings.Contains(msg.Body, bob.UserID.String()) || (msg.Mentions != nil && slices.Contains(msg.Mentions.UserIDs, bob.UserID))
		if evt.Sender == bob.UserID || named {
			wantMessages = append(wantMessages, evt.ID.String())
		}
	}
	alice.mu.Unlock()
	slices.Sort(wantMessages)
	var wantAudit []int64
	removal := false
	_ = tr.Store.AuditSince(ctx, since, func(e store.AuditEntry) error {
		if e.Time.Before(until.Add(time.Second)) && (e.Actor == bob.UserID.String() || strings.Contains(e.Reason+e.Detail, bob.UserID.String())) {
			wantAudit = append(wantAudit, e.Seq)
			removal = removal || e.Action == "kick"
		}
		return nil
	})
	if len(wantMessages) < 6 || !removal {
		t.Fatalf("the scenario went wrong: %d messages, removal audited %v", len(wantMessages), removal)
	}

	out := filepath.Join(t.TempDir(), "sar-bob")
	cmd := exec.Command(bin, "export", "-c", cfgPath, "-user", bob.UserID.String(), "-since", since.Format(time.RFC3339), "-until", untilText, "-o", out, "-requested-by", "SAR-2026-014")
	stdout, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("caldicott export: %v\n%s", err, stdout)
	}
	t.Logf("caldicott export:\n%s", stdout)

	messages := jsonLines[exportedMessage](t, filepath.Join(out, "messages.jsonl"))
	var got []string
	decrypted := 0
	for _, m := range messages {
		got = append(got, m.EventID)
		if m.Encrypted {
			decrypted++
			if m.Type != "m.room.message" || m.Content.Body == "" {
				t.Errorf("an encrypted message not decrypted: %+v", m)
			}
		}
		switch m.Content.Body {
		case "Bob, can you take bed 4?":
			if !slices.Equal(m.MatchedBy, []string{"mention"}) || !m.Encrypted {
				t.Errorf("the mention: %+v", m)
			}
		case "On my way":
			if !slices.Equal(m.MatchedBy, []string{"sender"}) || !m.Encrypted {
				t.Errorf("bob's message: %+v", m)
			}
		case "Handover: bed 4 needs a review tonight", "Rota for next week is up":
			t.Errorf("a message neither from nor about bob: %+v", m)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, wantMessages) {
		t.Errorf("exported messages %v\nwant %v", got, wantMessages)
	}
	if decrypted < 4 { // bed 4, on my way, the command, the bot's reply
		t.Errorf("only %d decrypted messages", decrypted)
	}
	var gotAudit []int64
	for _, e := range jsonLines[store.AuditEntry](t, filepath.Join(out, "audit.jsonl")) {
		gotAudit = append(gotAudit, e.Seq)
	}
	if !slices.Equal(gotAudit, wantAudit) {
		t.Errorf("exported audit entries %v, want %v", gotAudit, wantAudit)
	}
	manifest := checkBundleSums(t, func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	})
	if manifest.Subject != bob.UserID.String() || manifest.RequestedBy != "SAR-2026-014" || manifest.Counts.Messages != len(wantMessages) ||
		manifest.Counts.AuditEntries != len(wantAudit) || manifest.Counts.EncryptedUnreadable != 0 || manifest.Counts.MessagesDecrypted != decrypted {
		t.Errorf("manifest: %+v", manifest)
	}
	for _, name := range []string{"messages.jsonl", "audit.jsonl", "manifest.json", "SHA256SUMS"} {
		if fi, err := os.Stat(filepath.Join(out, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want readable by its owner only", name, err, fi.Mode())
		}
	}

	t.Run("the admin API: refused without the token, the same bundle with it", func(t *testing.T) {
		q := url.Values{"user": {bob.UserID.String()}, "since": {since.Format(time.RFC3339)}, "until": {untilText}, "requested_by": {"SAR-2026-014"}}
		endpoint := fmt.Sprintf("http://127.0.0.1:%d/_caldicott/admin/v1/export?%s", tr.Config.AppService.Port, q.Encode())
		get := func(url, token string) (int, []byte) {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, body
		}
		for _, token := range []string{"", "wrong-" + adminToken} {
			if code, body := get(endpoint, token); code != http.StatusUnauthorized || bytes.Contains(body, []byte("bed 4")) {
				t.Errorf("token %q: %d %s", token, code, body)
			}
		}
		bad := strings.Replace(endpoint, url.QueryEscape(bob.UserID.String()), "bob", 1)
		if code, body := get(bad, adminToken); code != http.StatusBadRequest || !strings.Contains(string(body), `user \"bob\" is not a Matrix user ID`) {
			t.Errorf("bad user: %d %s", code, body)
		}
		code, body := get(endpoint, adminToken)
		if code != http.StatusOK {
			t.Fatalf("export: %d %s", code, body)
		}
		zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatalf("not a zip archive: %v", err)
		}
		files := map[string][]byte{}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			files[f.Name], _ = io.ReadAll(rc)
			rc.Close()
		}
		m := checkBundleSums(t, func(name string) []byte { return files[name] })
		for _, name := range []string{"messages.jsonl", "audit.jsonl"} {
			cli, _ := os.ReadFile(filepath.Join(out, name))
			if !bytes.Equal(files[name], cli) {
				t.Errorf("%s from the admin API differs from the CLI's:\n%s\n---\n%s", name, files[name], cli)
			}
		}
		if m.Via != "admin_api" || m.Counts != manifest.Counts {
			t.Errorf("manifest via the API: %+v", m)
		}
	})

	t.Run("each export is audited, without content", func(t *testing.T) {
		var exports []store.AuditEntry
		_ = tr.Store.AuditSince(ctx, until, func(e store.AuditEntry) error {
			if e.Action == "subject_access_export" {
				exports = append(exports, e)
			}
			return nil
		})
		if len(exports) != 2 || !strings.HasPrefix(exports[0].Actor, "cli") || exports[1].Actor != "token:legacy" {
			t.Fatalf("export audit entries: %+v", exports)
		}
		for _, e := range exports {
			if !strings.Contains(e.Reason, "subject access export of "+bob.UserID.String()) || !strings.Contains(e.Reason, "SAR-2026-014") ||
				!strings.Contains(e.Reason, fmt.Sprintf("%d messages", len(wantMessages))) || strings.Contains(e.Reason+e.Detail, "bed 4") || strings.Contains(e.Reason+e.Detail, "On my way") {
				t.Errorf("export audit entry: %+v", e)
			}
		}
	})
}

// nextSecond waits for the next whole second and returns it, so a range
// typed with second precision falls between two steps of a scenario.
func nextSecond() time.Time {
	next := time.Now().UTC().Truncate(time.Second).Add(time.Second)
	testenv.WaitUntil(next.Add(10 * time.Millisecond))
	return next
}

func jsonLines[T any](t *testing.T, path string) []T {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v: %s", path, err, sc.Bytes())
		}
		out = append(out, v)
	}
	return out
}

// bundleManifest is the part of manifest.json the test checks.
type bundleManifest struct {
	Subject     string `json:"subject"`
	RequestedBy string `json:"requested_by"`
	Via         string `json:"via"`
	Counts      struct {
		RoomsSearched, EventsRead, Messages, MessagesDecrypted, EncryptedUnreadable, AuditEntries int
	} `json:"-"`
	RawCounts map[string]int `json:"counts"`
	Files     []struct {
		Name   string `json:"name"`
		SHA256 string `json:"sha256"`
	} `json:"files"`
}

// checkBundleSums checks SHA256SUMS and the manifest's checksums against
// the files, and returns the manifest.
func checkBundleSums(t *testing.T, read func(name string) []byte) bundleManifest {
	t.Helper()
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(read("SHA256SUMS"))), "\n") {
		sum, name, _ := strings.Cut(line, "  ")
		listed[name] = sum
	}
	for _, name := range []string{"messages.jsonl", "audit.jsonl", "manifest.json"} {
		sum := sha256.Sum256(read(name))
		if listed[name] != hex.EncodeToString(sum[:]) {
			t.Errorf("SHA256SUMS lists %q for %s; it is %x", listed[name], name, sum)
		}
	}
	var m bundleManifest
	if err := json.Unmarshal(read("manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	c := m.RawCounts
	m.Counts.RoomsSearched, m.Counts.EventsRead, m.Counts.Messages = c["rooms_searched"], c["events_read"], c["messages"]
	m.Counts.MessagesDecrypted, m.Counts.EncryptedUnreadable, m.Counts.AuditEntries = c["messages_decrypted"], c["encrypted_unreadable"], c["audit_entries"]
	if len(m.Files) != 2 {
		t.Errorf("manifest lists %d files", len(m.Files))
	}
	for _, f := range m.Files {
		if listed[f.Name] != f.SHA256 {
			t.Errorf("the manifest says %s for %s, SHA256SUMS %s", f.SHA256, f.Name, listed[f.Name])
		}
	}
	return m
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
