package appservice_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// sweepYAML: clinical rooms keep messages for a few seconds, swept every
// second, a few redactions per pass — the same code as days and hours.
func sweepYAML(keep string, batch int) string {
	return fmt.Sprintf(`retention: {clinical: {default: %s, min: 1s, max: 1h}, sweep_interval: 1s, batch: %d}`, keep, batch)
}

// redacted reads one event as a member sees it: true once its content is gone.
func redacted(t *testing.T, cli *mautrix.Client, roomID id.RoomID, eventID id.EventID) bool {
	t.Helper()
	// Dendrite serves GET /event from its sync side, which may not have a
	// message sent a moment ago: a 404 then is waited out, as EventOf does.
	var gone bool
	testenv.Eventually(t, 10*time.Second, "event "+eventID.String()+" to be readable", func() (bool, string) {
		var err error
		gone, err = readRedacted(cli, roomID, eventID)
		if err != nil && !errors.Is(err, mautrix.MNotFound) {
			t.Fatalf("read %s: %v", eventID, err)
		}
		return err == nil, fmt.Sprint(err)
	})
	return gone
}

func readRedacted(cli *mautrix.Client, roomID id.RoomID, eventID id.EventID) (bool, error) {
	var raw struct {
		Content  map[string]any `json:"content"`
		Unsigned struct {
			RedactedBecause json.RawMessage `json:"redacted_because"`
		} `json:"unsigned"`
	}
	url := cli.BuildClientURL("v3", "rooms", roomID, "event", eventID)
	if _, err := cli.MakeRequest(ctx, http.MethodGet, url, nil, &raw); err != nil {
		return false, err
	}
	return len(raw.Unsigned.RedactedBecause) > 0 || len(raw.Content) == 0, nil
}

func waitRedacted(t *testing.T, cli *mautrix.Client, roomID id.RoomID, timeout time.Duration, ids ...id.EventID) {
	t.Helper()
	testenv.Eventually(t, timeout, "expired events to be deleted", func() (bool, string) {
		left := 0
		for _, e := range ids {
			gone, err := readRedacted(cli, roomID, e)
			if err != nil && !errors.Is(err, mautrix.MNotFound) {
				t.Fatalf("read %s: %v", e, err)
			}
			// Dendrite can answer 404 for an event it accepted a moment
			// ago: not yet deleted; the wait times out if it never shows.
			if !gone {
				left++
			}
		}
		return left == 0, fmt.Sprintf("%d of %d still there", left, len(ids))
	})
}

// redactionsOf counts the redaction events in a room per event redacted.
func redactionsOf(t *testing.T, cli *mautrix.Client, roomID id.RoomID) map[id.EventID]int {
	t.Helper()
	out := map[id.EventID]int{}
	testenv.EachRedaction(t, cli, roomID, func(_ *event.Event, target id.EventID) { out[target]++ })
	return out
}

// TestRetentionSweepDeletesExpiredMessages: every kind of content event
// older than the room's retention is redacted — messages, reactions,
// edits, the newest message included — while younger ones stay until
// their time; room state stays; status and metrics show what was done.
func TestRetentionSweepDeletesExpiredMessages(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: sweepYAML("8s", 100)})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	room := tr.ClinicalRoom(t, alice)

	start := time.Now()
	msg := testenv.SendText(t, alice, room, "Bed 4 obs stable")
	reaction := testenv.Send(t, alice, room, map[string]any{"m.relates_to": map[string]any{"rel_type": "m.annotation", "event_id": msg, "key": "👍"}}, event.EventReaction)
	edit := testenv.Send(t, alice, room, map[string]any{"msgtype": "m.text", "body": "* Bed 4 obs stable, NEWS 1",
		"m.new_content": map[string]any{"msgtype": "m.text", "body": "Bed 4 obs stable, NEWS 1"},
		"m.relates_to":  map[string]any{"rel_type": "m.replace", "event_id": msg}}, event.EventMessage)
	custom := testenv.Send(t, alice, room, map[string]any{"anything": "at all"}, event.Type{Type: "org.example.custom", Class: event.MessageEventType})
	old := []id.EventID{msg, reaction, edit, custom}

	// Sent before the old ones expire, so it expires after them.
	testenv.WaitUntil(start.Add(5 * time.Second))
	fresh := testenv.SendText(t, alice, room, "Bed 6 for review at 3")
	waitRedacted(t, alice, room, 20*time.Second, old...)
	if redacted(t, alice, room, fresh) {
		t.Fatal("a message younger than the room's retention was deleted")
	}
	// The room itself is intact: its state is never swept.
	if c := testenv.StateContent(t, alice, room, "org.caldicott.policy"); c["class"] != "clinical" {
		t.Fatalf("room state changed by the sweep: %v", c)
	}
	// The newest message goes too, once it expires.
	waitRedacted(t, alice, room, 20*time.Second, fresh)
	for e, n := range redactionsOf(t, alice, room) {
		if n != 1 {
			t.Errorf("%s redacted %d times", e, n)
		}
	}

	testenv.Say(t, alice, room, "!policy status")
	testenv.WaitForNotice(t, alice, room, bot, "Retention: 8s", "Deletion: last swept")
	metrics := scrape(t, tr)
	if !strings.Contains(metrics, "caldicott_retention_redactions_total") || strings.Contains(metrics, "caldicott_retention_redactions_total 0\n") {
		t.Fatalf("metrics do not count the deletions:\n%s", grepLines(metrics, "caldicott_retention"))
	}
}

// TestRetentionSweepResumesAfterRestart: a sweep stopped part-way resumes
// where it stopped; every expired message is deleted exactly once.
func TestRetentionSweepResumesAfterRestart(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: sweepYAML("3s", 4)})
	alice := tr.HS.RegisterUser(t, "alice", false)
	tr.Start(t)
	room := tr.ClinicalRoom(t, alice)
	var sent []id.EventID
	for i := range 24 {
		sent = append(sent, testenv.SendText(t, alice, room, fmt.Sprintf("handover note %d", i)))
	}
	testenv.Eventually(t, 30*time.Second, "the sweep to get part-way", func() (bool, string) {
		n := 0
		for _, e := range sent {
			if redacted(t, alice, room, e) {
				n++
			}
		}
		return n >= 6, fmt.Sprint(n, " deleted")
	})
	tr.Stop(t)
	done := 0
	for _, e := range sent {
		if redacted(t, alice, room, e) {
			done++
		}
	}
	if done == len(sent) {
		t.Fatal("the sweep finished before the restart; the test proves nothing")
	}
	tr.Start(t)
	waitRedacted(t, alice, room, 60*time.Second, sent...)
	for e, n := range redactionsOf(t, alice, room) {
		if n != 1 {
			t.Errorf("%s redacted %d times", e, n)
		}
	}
	t.Logf("%d of %d deleted before the restart, the rest after", done, len(sent))
}

// TestLegalHold: an IG admin's hold stops deletion in a room, status and
// the management room's list show it, and lifting it deletes what expired.
func TestLegalHold(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: sweepYAML("3s", 100)})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	ig, mgmt := tr.IGAdmin(t)
	room := tr.ClinicalRoom(t, alice)

	testenv.Say(t, ig, mgmt, "!policy hold on "+room.String()+" complaint 2026/114")
	testenv.WaitForNotice(t, ig, mgmt, bot, "Legal hold placed on "+room.String())
	testenv.Say(t, alice, room, "!policy hold on because")
	testenv.WaitForNotice(t, alice, room, bot, "IG admin")

	kept := testenv.SendText(t, alice, room, "Discussed with family at 14:00")
	testenv.Quiet(t, 8*time.Second, "the message kept past retention, over several sweeps", func() (bool, string) {
		gone := redacted(t, alice, room, kept)
		return !gone, fmt.Sprint("deleted: ", gone)
	})
	if redacted(t, alice, room, kept) {
		t.Fatal("a message was deleted in a room on legal hold")
	}
	testenv.Say(t, alice, room, "!policy status")
	testenv.WaitForNotice(t, alice, room, bot, "On legal hold since", "complaint 2026/114")
	testenv.Say(t, ig, mgmt, "!policy hold list")
	testenv.WaitForNotice(t, ig, mgmt, bot, "Rooms on legal hold", room.String(), "complaint 2026/114", ig.UserID.String())

	testenv.Say(t, ig, mgmt, "!policy hold off "+room.String())
	testenv.WaitForNotice(t, ig, mgmt, bot, "Legal hold lifted on "+room.String())
	waitRedacted(t, alice, room, 20*time.Second, kept)
	testenv.Say(t, ig, mgmt, "!policy hold sideways")
	testenv.WaitForNotice(t, ig, mgmt, bot, `"sideways" is not something a hold does`)

	entries, err := tr.Store.AuditForRoom(ctx, room.String(), 500)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "legal_hold.") {
			actions = append(actions, e.Action+" "+e.Actor)
		}
	}
	if strings.Join(actions, ",") != "legal_hold.on "+ig.UserID.String()+",legal_hold.off "+ig.UserID.String() {
		t.Fatalf("audit has %v", actions)
	}
}

// TestRetentionDeletesMediaFiles: in an unencrypted room, an expired
// message's file is deleted from Dendrite's media store too.
func TestRetentionDeletesMediaFiles(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: sweepYAML("3s", 100)})
	hsMedia := tr.HS.MediaPath()
	tr.Config.Retention.MediaPath = hsMedia
	tr.Start(t)
	alice := tr.HS.RegisterUser(t, "alice", false)
	room := tr.ClinicalRoom(t, alice)

	data := bytes.Repeat([]byte("wound photo "), 500)
	up, err := alice.UploadBytes(ctx, data, "image/png")
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	img := testenv.Send(t, alice, room, &event.MessageEventContent{MsgType: event.MsgImage, Body: "wound.png", URL: up.ContentURI.CUString()}, event.EventMessage)
	files := func() []string {
		var out []string
		_ = filepath.WalkDir(hsMedia, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == "file" {
				out = append(out, p)
			}
			return nil
		})
		return out
	}
	if len(files()) != 1 {
		t.Fatalf("expected the uploaded file in %s, found %v", hsMedia, files())
	}
	waitRedacted(t, alice, room, 20*time.Second, img)
	// Judged once the homeserver has had time to deliver what it held back
	// since Caldicott started (70 s), then after each sweep.
	testenv.Eventually(t, 90*time.Second, "the file to be deleted", func() (bool, string) {
		f := files()
		return len(f) == 0, fmt.Sprint(f)
	})
	resp, err := alice.Download(ctx, up.ContentURI)
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if bytes.Equal(body, data) {
			t.Fatal("the file can still be downloaded")
		}
	}
}

// scrape reads Caldicott's Prometheus metrics.
func scrape(t *testing.T, tr *trust.Trust) string {
	t.Helper()
	resp, err := http.Get(tr.Config.AppService.Address + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestElementEngineForgetsExpiredMessages: a clinician's client built on
// matrix-js-sdk (Element's engine) sends a message into an encrypted
// clinical room; when the retention sweep deletes it, the client's own
// store no longer holds the text.
func TestElementEngineForgetsExpiredMessages(t *testing.T) {
	dir := jsSDKDir(t)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: sweepYAML("6s", 100)})
	tr.Start(t)
	alice := tr.HS.RegisterUser(t, "alice", false)
	room := tr.ClinicalRoom(t, alice)
	const text = "Bay 2 bed 5: start IV co-amoxiclav"
	cmd := exec.Command("node", "watch-redaction.mjs", tr.HS.URL, "alice", "correct horse battery alice", room.String(), text, "60000")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("matrix-js-sdk: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var res struct {
		EventID       string `json:"event_id"`
		SeenBefore    bool   `json:"seen_before"`
		Redacted      bool   `json:"redacted"`
		TextStillHeld bool   `json:"text_still_held"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("matrix-js-sdk said %q: %v", out, err)
	}
	switch {
	case !res.SeenBefore:
		t.Fatalf("the client never held the message, so the test proves nothing: %+v", res)
	case !res.Redacted:
		t.Fatalf("the message was not deleted within a minute: %+v", res)
	case res.TextStillHeld:
		t.Fatalf("Element's engine still holds the deleted text: %+v", res)
	}
	if !redacted(t, alice, room, id.EventID(res.EventID)) {
		t.Fatal("the homeserver still has the message")
	}
}

// TestRetentionFailureIsReported: when the homeserver refuses a deletion
// (the bot lacks the power to redact), the IG team is told once, status
// shows it, and once the room is fixed deletion resumes and the IG team
// hears it is back on schedule.
func TestRetentionFailureIsReported(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: `retention: {social: {default: 2s, min: 1s, max: 1h}, sweep_interval: 1s}`})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	ig, mgmt := tr.IGAdmin(t)
	room := testenv.RoomWithBot(t, alice, bot, &mautrix.ReqCreateRoom{Preset: "private_chat"})
	testenv.SetPower(t, alice, room, bot, 50)
	testenv.Say(t, alice, room, "!policy classify social")
	testenv.WaitForNotice(t, alice, room, bot, "social")
	var pl map[string]any
	if err := alice.StateEvent(ctx, room, event.StatePowerLevels, "", &pl); err != nil {
		t.Fatal(err)
	}
	pl["redact"] = 100
	testenv.SetState(t, alice, room, "m.room.power_levels", pl)
	msg := testenv.SendText(t, alice, room, "coffee at 3?")

	testenv.WaitForNotice(t, ig, mgmt, bot, "are not being deleted on schedule", "the homeserver refused a deletion")
	if redacted(t, alice, room, msg) {
		t.Fatal("deleted without the power to")
	}
	pl["redact"] = 50
	testenv.SetState(t, alice, room, "m.room.power_levels", pl)
	waitRedacted(t, alice, room, 20*time.Second, msg)
	testenv.WaitForNotice(t, ig, mgmt, bot, "is back on schedule")
}
