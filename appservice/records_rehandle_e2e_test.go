package appservice_test

import (
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

// TestPatientRecordCommandHandledAgain: a `!policy record` command whose
// process stopped after queueing it and before marking the event handled
// (a crash, a failover) is handled again by the next process. The room is
// told once that the message is on its way and once that it was accepted,
// as if it had been handled once: not also "already on its way". (Found
// by the failover benchmark: 17 of 90 commands answered twice over 50
// failovers.)
func TestPatientRecordCommandHandledAgain(t *testing.T) {
	base, fhirSrv := testenv.StartFHIR(t)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: fmt.Sprintf(`records: {fhir_base_url: %q, token: %q}`, base, fhirSrv.Token)})
	alice, bob, room := recordingWard(t, tr)
	bot := tr.BotID()

	note := testenv.SendText(t, bob, room, "Plan: bloods at 06:00")
	cmd := replyWith(t, alice, room, note, "!policy record 943 476 5919")
	testenv.WaitForNotice(t, alice, room, bot, "✅ The patient record has accepted this message")

	// As if the process had stopped before marking the command handled.
	tr.Stop(t)
	st, err := store.Open(ctx, tr.Config.Database.Type, tr.Config.Database.URI, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().Exec(ctx, `UPDATE inbox SET done_at = NULL WHERE event_id = $1`, cmd.String()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	tr.Start(t)
	testenv.Eventually(t, 30*time.Second, "the command handled again", func() (bool, string) {
		pending, err := tr.Store.PendingEvents(ctx, 100)
		if err != nil {
			return false, err.Error()
		}
		for _, ev := range pending {
			if ev.EventID == cmd.String() {
				return false, "still in the inbox"
			}
		}
		return true, ""
	})
	testenv.Say(t, alice, room, "!policy status") // answered after the command, in the room's lane
	testenv.WaitForNotice(t, alice, room, bot, "Patient record:")

	replies := repliesTo(t, alice, room, bot, cmd)
	if len(replies) != 2 || !strings.Contains(replies[0], "Sending this message to the patient record") ||
		!strings.Contains(replies[1], "The patient record has accepted this message") {
		t.Fatalf("replies to the command: %q; want one saying it is on its way, one that it was accepted", replies)
	}
	if n := len(fhirSrv.Communications(t)); n != 1 {
		t.Fatalf("%d Communications, want 1", n)
	}
}

// repliesTo is the bot's replies to one event, oldest first.
func repliesTo(t *testing.T, cli *mautrix.Client, room id.RoomID, bot id.UserID, to id.EventID) []string {
	t.Helper()
	resp, err := cli.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(resp.Chunk) - 1; i >= 0; i-- {
		evt := resp.Chunk[i]
		if evt.Sender != bot || evt.Type != event.EventMessage {
			continue
		}
		_ = evt.Content.ParseRaw(evt.Type)
		if msg := evt.Content.AsMessage(); msg.RelatesTo.GetReplyTo() == to {
			out = append(out, msg.Body)
		}
	}
	return out
}
