package subjectaccess

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

// TestExportPagesThroughTheRange: on a real Dendrite, a room whose history
// spans many pages; the export walks back only to the start of the range
// and forward through it, a few events at a time, and finds exactly the
// subject's messages in it, in order — none missed at a page boundary and
// none twice — whatever the page size.
func TestExportPagesThroughTheRange(t *testing.T) {
	ctx := context.Background()
	hs := testenv.StartHomeserver(t, testenv.HomeserverOptions{})
	reader := hs.RegisterUser(t, "reader", false) // plays the bot
	bob := hs.RegisterUser(t, "bob", false)
	carol := hs.RegisterUser(t, "carol", false)
	resp, err := reader.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{bob.UserID, carol.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	room := resp.RoomID
	for _, c := range []*mautrix.Client{bob, carol} {
		if _, err := c.JoinRoomByID(ctx, room); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(ctx, store.SQLite, filepath.Join(t.TempDir(), "caldicott.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	send := func(c *mautrix.Client, content *event.MessageEventContent) {
		t.Helper()
		if _, err := c.SendMessageEvent(ctx, room, event.EventMessage, content); err != nil {
			t.Fatal(err)
		}
	}
	text := func(c *mautrix.Client, body string) {
		send(c, &event.MessageEventContent{MsgType: event.MsgText, Body: body})
	}
	fillers := func(n int, tag string) {
		for i := range n {
			text(carol, fmt.Sprintf("%s filler %d", tag, i))
		}
	}
	boundary := func() time.Time {
		time.Sleep(20 * time.Millisecond)
		b := time.Now().UTC()
		time.Sleep(20 * time.Millisecond)
		return b
	}
	audit := func(actor, reason string) {
		if _, err := st.AppendAudit(ctx, store.AuditEntry{Actor: actor, Action: "test", Reason: reason}); err != nil {
			t.Fatal(err)
		}
	}

	fillers(9, "before")
	text(bob, "bob before the range")
	audit(bob.UserID.String(), "before the range")
	since := boundary()
	text(bob, "in 1")
	fillers(5, "in")
	text(carol, "ask "+bob.UserID.String()+".")
	fillers(5, "in")
	send(carol, &event.MessageEventContent{MsgType: event.MsgText, Body: "Bob, see this", Mentions: &event.Mentions{UserIDs: []id.UserID{bob.UserID}}})
	audit(carol.UserID.String(), "removed "+bob.UserID.String())
	audit(carol.UserID.String(), "removed "+bob.UserID.String()+"x.example") // someone else
	text(bob, "in 2")
	fillers(6, "in")
	until := boundary()
	text(bob, "bob after the range")
	audit(bob.UserID.String(), "after the range")
	fillers(5, "after")
	const inRange = 1 + 5 + 1 + 5 + 1 + 1 + 6

	req, err := ParseRequest(bob.UserID.String(), since.Format(time.RFC3339Nano), until.Format(time.RFC3339Nano))
	if err != nil {
		t.Fatal(err)
	}
	req.Actor, req.Via, req.RequestedBy = "test", "cli", "SAR-1"
	want := []string{"in 1", "ask " + bob.UserID.String() + ".", "Bob, see this", "in 2"}
	for _, page := range []int{3, 4, 7, 100} {
		t.Run(fmt.Sprintf("pages of %d", page), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "bundle")
			b, err := NewDirBundle(dir)
			if err != nil {
				t.Fatal(err)
			}
			x := &Exporter{Reader: reader, Store: st, PageSize: page, Now: time.Now, Trust: "Test", Server: hs.ServerName}
			m, err := x.Export(ctx, req, b)
			if err != nil {
				t.Fatal(err)
			}
			lines := readLines[MessageLine](t, filepath.Join(dir, MessagesFile))
			var got []string
			for _, l := range lines {
				var c struct {
					Body string `json:"body"`
				}
				_ = json.Unmarshal(l.Content, &c)
				got = append(got, c.Body)
			}
			if !slices.Equal(got, want) {
				t.Errorf("messages %q, want %q", got, want)
			}
			if m.Counts.EventsRead != inRange || m.Counts.Messages != len(want) {
				t.Errorf("read %d events in range (want %d: none missed, none twice), %d messages", m.Counts.EventsRead, inRange, m.Counts.Messages)
			}
			if len(lines) == 4 && (!slices.Equal(lines[0].MatchedBy, []string{MatchSender}) || !slices.Equal(lines[1].MatchedBy, []string{MatchText}) || !slices.Equal(lines[2].MatchedBy, []string{MatchMention})) {
				t.Errorf("matched_by: %v %v %v", lines[0].MatchedBy, lines[1].MatchedBy, lines[2].MatchedBy)
			}
			entries := readLines[store.AuditEntry](t, filepath.Join(dir, AuditFile))
			if len(entries) != 1 || entries[0].Reason != "removed "+bob.UserID.String() {
				t.Errorf("audit entries %+v, want the one removal of bob in range", entries)
			}
			checkSums(t, dir)
		})
	}

	t.Run("the whole history, from the room's creation", func(t *testing.T) {
		all, err := ParseRequest(bob.UserID.String(), "2000-01-01", "2999-12-31")
		if err != nil {
			t.Fatal(err)
		}
		all.Actor, all.Via = "test", "cli"
		for _, page := range []int{3, 100} {
			dir := filepath.Join(t.TempDir(), "bundle")
			b, _ := NewDirBundle(dir)
			x := &Exporter{Reader: reader, Store: st, PageSize: page, Now: time.Now}
			m, err := x.Export(ctx, all, b)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range readLines[MessageLine](t, filepath.Join(dir, MessagesFile)) {
				var c struct {
					Body string `json:"body"`
				}
				_ = json.Unmarshal(l.Content, &c)
				got = append(got, c.Body)
			}
			wantAll := append(append([]string{"bob before the range"}, want...), "bob after the range")
			if !slices.Equal(got, wantAll) || m.Counts.EventsRead != 9+1+inRange+1+5 {
				t.Errorf("pages of %d: %q from %d events, want %q from %d", page, got, m.Counts.EventsRead, wantAll, 9+1+inRange+1+5)
			}
		}
	})

	t.Run("the export is audited, without content", func(t *testing.T) {
		var found []store.AuditEntry
		_ = st.AuditSince(ctx, time.Time{}, func(e store.AuditEntry) error {
			if e.Action == ActionExport {
				found = append(found, e)
			}
			return nil
		})
		if len(found) != 6 || found[0].Actor != "test" || !strings.Contains(found[0].Reason, "subject access export of "+bob.UserID.String()) ||
			!strings.Contains(found[0].Reason, "for SAR-1: 4 messages, 1 audit entries") || strings.Contains(found[0].Reason+found[0].Detail, "in 1") {
			t.Errorf("export audit entries: %+v", found)
		}
	})
}

func readLines[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	return out
}

// checkSums checks SHA256SUMS and the manifest's checksums against the files.
func checkSums(t *testing.T, dir string) {
	t.Helper()
	sums, err := os.ReadFile(filepath.Join(dir, SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", line)
		}
		listed[name] = sum
	}
	for _, name := range []string{MessagesFile, AuditFile, ManifestFile} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if listed[name] != hex.EncodeToString(sum[:]) {
			t.Errorf("SHA256SUMS says %s for %s; it is %x", listed[name], name, sum)
		}
	}
	var m Manifest
	raw, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		if listed[f.Name] != f.SHA256 {
			t.Errorf("manifest says %s for %s, SHA256SUMS %s", f.SHA256, f.Name, listed[f.Name])
		}
	}
}
