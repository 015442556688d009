package trust

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
)

// sweepTrial sends messages to the sweep room while no caldicott runs and
// waits until they have expired; the check wants each deleted once. For
// "sweep:cursor" it sends more than a page of history (retention's
// pageSize, 100), so the sweep saves its cursor mid-room.
func (k *KillRig) sweepTrial(t testing.TB, room id.RoomID, marker id.EventID, step string) func() (int, int, string) {
	t.Helper()
	n := 3
	if step == "sweep:cursor" {
		n = 110
	}
	sent := make([]id.EventID, n)
	for i := range sent {
		sent[i] = testenv.SendText(t, k.Bob, room, fmt.Sprintf("Obs %d of trial %d", i, k.n))
	}
	time.Sleep(killRetention + 500*time.Millisecond)
	return func() (lost, doubled int, detail string) {
		redactions := map[id.EventID]int{}
		for _, e := range EventsSince(t, k.Alice, room, marker) {
			if e.Type == event.EventRedaction && e.Sender == k.Tr.BotID() {
				redactions[redactedBy(e)]++
			}
		}
		var missing []int
		for i, ev := range sent {
			// A page boundary of the history read may hide a redaction:
			// the event itself says whether it was deleted.
			if redactions[ev] == 0 && !isRedacted(k.Alice, room, ev) {
				lost++
				missing = append(missing, i)
			}
		}
		if lost > 0 {
			detail += fmt.Sprintf("not deleted: messages %v (%s); ", missing, sent[missing[0]])
		}
		for ev, c := range redactions {
			if c > 1 {
				doubled += c - 1
				detail += fmt.Sprintf("%s deleted %d times; ", ev, c)
			}
		}
		return lost, doubled, fmt.Sprintf("%s%d of %d expired messages not deleted", detail, lost, n)
	}
}

// isRedacted says whether the homeserver shows ev deleted.
func isRedacted(cli *mautrix.Client, room id.RoomID, ev id.EventID) bool {
	var raw struct {
		Unsigned struct {
			RedactedBecause json.RawMessage `json:"redacted_because"`
		} `json:"unsigned"`
	}
	url := cli.BuildClientURL("v3", "rooms", room, "event", ev)
	if _, err := cli.MakeRequest(context.Background(), http.MethodGet, url, nil, &raw); err != nil {
		return false
	}
	return len(raw.Unsigned.RedactedBecause) > 0 && string(raw.Unsigned.RedactedBecause) != "null"
}

// redactedBy is the event a redaction deletes.
func redactedBy(e *event.Event) id.EventID {
	if e.Redacts != "" {
		return e.Redacts
	}
	if err := e.Content.ParseRaw(e.Type); err == nil {
		return e.Content.AsRedaction().Redacts
	}
	return ""
}

// nhsNumber is a valid NHS number (its check digit right) of no one.
const nhsNumber = "943 476 5919"

// recordTrial has Alice send Bob's message to the patient record; the
// check wants it in the FHIR server once, the room told once that the
// record accepted it, and the command answered once.
func (k *KillRig) recordTrial(t testing.TB, room id.RoomID) func() (int, int, string) {
	t.Helper()
	msg := testenv.SendText(t, k.Bob, room, fmt.Sprintf("Advised IV fluids, trial %d", k.n))
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "!policy record " + nhsNumber}
	content.RelatesTo = (&event.RelatesTo{}).SetReplyTo(msg)
	cmd := testenv.Send(t, k.Alice, room, content, event.EventMessage)
	return func() (lost, doubled int, detail string) {
		records := 0
		for _, c := range k.FHIR.Communications(t) {
			for _, ident := range c.Identifier {
				if ident.Value != nil && *ident.Value == msg.String() {
					records++
				}
			}
		}
		accepted, answers := 0, map[string]int{}
		for _, e := range EventsSince(t, k.Alice, room, msg) {
			if e.Sender != k.Tr.BotID() || e.Type != event.EventMessage {
				continue
			}
			_ = e.Content.ParseRaw(e.Type)
			m := e.Content.AsMessage()
			if m.RelatesTo.GetReplyTo() != cmd {
				continue
			}
			if strings.Contains(m.Body, "has accepted this message") {
				accepted++
			} else {
				answers[firstWords(m.Body)]++
			}
		}
		total := 0
		for _, c := range answers {
			total += c
		}
		var parts []string
		for what, c := range map[string]int{"records in the FHIR server": records, "notices of acceptance": accepted, "answers to the command": total} {
			switch {
			case c == 0:
				lost++
			case c > 1:
				doubled += c - 1
			default:
				continue
			}
			parts = append(parts, fmt.Sprintf("%s: %d", what, c))
		}
		if total > 1 {
			parts = append(parts, fmt.Sprintf("answers %v", answers))
		}
		return lost, doubled, strings.Join(parts, "; ")
	}
}

// firstWords is the start of a notice, enough to tell notices apart.
func firstWords(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}
