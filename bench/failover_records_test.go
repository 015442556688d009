package bench_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
)

// failoverKeep is the retention room's period: short, so the sweep
// (every second) deletes its messages while the failovers happen, as
// appservice's retention tests shorten it; the other rooms keep the
// class default (30 days) and lose nothing.
const failoverKeep = 15 * time.Second

// failoverYAML: a room may keep messages for as little as a second, every
// room is swept each second, and the patient record is the FHIR server.
func failoverYAML(fhirBase, token string) string {
	return fmt.Sprintf(`
retention: {clinical: {min: 1s}, sweep_interval: 1s}
records: {fhir_base_url: %q, token: %q, remind_before: 1h}`, fhirBase, token)
}

// keepShort sets the retention room's period by the room admin's command.
func keepShort(t *testing.T, alice *mautrix.Client, bot id.UserID, room id.RoomID) {
	t.Helper()
	testenv.Say(t, alice, room, fmt.Sprintf("!policy retention %ds", int(failoverKeep.Seconds())))
	testenv.WaitForState(t, alice, room, "m.room.retention", "max_lifetime", float64(failoverKeep.Milliseconds()))
	testenv.WaitForNotice(t, alice, room, bot, "This room's retention is now")
}

// recordReq is one message sent to the patient record: bob's note and
// alice's command in reply to it.
type recordReq struct {
	note, command id.EventID
	text          string
}

// expiring sends a message to the retention room.
func (g *traffic) expiring(i int) error {
	resp, err := g.alice.SendText(ctx, g.keepRoom, fmt.Sprintf("obs round %d", i))
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expired = append(g.expired, resp.EventID)
	return nil
}

// record has bob write a note in the records room and alice send it to
// the patient record, as a room admin does: a reply with the command.
func (g *traffic) record(i int) error {
	text := fmt.Sprintf("Plan for bed %d: repeat U&E at 16:00 (note %s)", i, randomHex(4))
	note, err := g.bob.SendText(ctx, g.recordRoom, text)
	if err != nil {
		return err
	}
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "!policy record 943 476 5919"}
	content.RelatesTo = (&event.RelatesTo{}).SetReplyTo(note.EventID)
	cmd, err := g.alice.SendMessageEvent(ctx, g.recordRoom, event.EventMessage, content)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.records = append(g.records, recordReq{note: note.EventID, command: cmd.EventID, text: text})
	return nil
}

// recordCounts is what became of the messages sent to the patient record.
type recordCounts struct {
	Requested int `json:"requested"`
	Delivered int `json:"delivered"` // exactly one Communication on the FHIR server
	Told      int `json:"told"`      // exactly one "sending" and one "accepted" reply
	Lost      int `json:"lost"`
	Doubled   int `json:"duplicates"`
}

// botReplies counts the bot's replies in a room per event replied to, by
// what they say.
type botReplies struct {
	sending, accepted, other map[id.EventID]int
	texts                    map[id.EventID][]string
}

func readReplies(t *testing.T, cli *mautrix.Client, room id.RoomID, bot id.UserID) botReplies {
	t.Helper()
	r := botReplies{sending: map[id.EventID]int{}, accepted: map[id.EventID]int{}, other: map[id.EventID]int{}, texts: map[id.EventID][]string{}}
	eachEvent(t, cli, room, func(evt *event.Event) {
		if evt.Sender != bot || evt.Type != event.EventMessage {
			return
		}
		_ = evt.Content.ParseRaw(evt.Type)
		msg := evt.Content.AsMessage()
		to := msg.RelatesTo.GetReplyTo()
		if to == "" {
			return
		}
		r.texts[to] = append(r.texts[to], msg.Body)
		switch {
		case strings.Contains(msg.Body, "Sending this message to the patient record"):
			r.sending[to]++
		case strings.Contains(msg.Body, "The patient record has accepted this message"):
			r.accepted[to]++
		default:
			r.other[to]++
		}
	})
	return r
}

// countRecords waits for every record to be delivered and confirmed (two
// minutes at most), then counts, per message, the Communications on the
// FHIR server that carry it and the bot's replies to its command.
func countRecords(t *testing.T, fhirSrv *testenv.FHIRServer, alice *mautrix.Client, room id.RoomID, bot id.UserID, reqs []recordReq) recordCounts {
	t.Helper()
	stored := func() map[string]int {
		n := map[string]int{}
		for _, c := range fhirSrv.Communications(t) {
			if len(c.Payload) > 0 {
				n[c.Payload[0].ContentString]++
			}
		}
		return n
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		comms, replies, left := stored(), readReplies(t, alice, room, bot), 0
		for _, r := range reqs {
			if comms[r.text] == 0 || replies.accepted[r.command] == 0 {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Logf("records not settled after two minutes: %d of %d", left, len(reqs))
			break
		}
		time.Sleep(2 * time.Second)
	}
	time.Sleep(5 * time.Second) // every chance for a repeat to show
	comms, replies := stored(), readReplies(t, alice, room, bot)
	out := recordCounts{Requested: len(reqs)}
	for _, r := range reqs {
		n := comms[r.text]
		out.Delivered += boolInt(n == 1)
		out.Lost += boolInt(n == 0)
		out.Doubled += max(n-1, 0)
		s, a, o := replies.sending[r.command], replies.accepted[r.command], replies.other[r.command]
		out.Told += boolInt(s == 1 && a == 1 && o == 0)
		out.Lost += boolInt(s == 0) + boolInt(a == 0)
		out.Doubled += max(s-1, 0) + max(a-1, 0) + o
		if n != 1 || s != 1 || a != 1 || o != 0 {
			t.Errorf("record of %s (command %s): %d Communications, replies %d sending, %d accepted, %d other; want 1, 1, 1, 0: %q",
				r.note, r.command, n, s, a, o, replies.texts[r.command])
		}
	}
	t.Logf("records: %+v", out)
	return out
}

// retentionCounts is what the sweep did in the retention room.
type retentionCounts struct {
	Expired  int `json:"expired"`  // events past the room's retention when counted
	Redacted int `json:"redacted"` // of them, redacted exactly once
	Kept     int `json:"kept"`     // events not yet expired when counted, none redacted
	Lost     int `json:"lost"`     // expired, never redacted
	Doubled  int `json:"duplicates"`
	Early    int `json:"early"` // redacted before the room's retention ran out
}

// roomRedactions is a room's history as the sweep's work shows in it: when
// each event that can expire was sent, and the redactions of each.
type roomRedactions struct {
	sent       map[id.EventID]time.Time
	redactions map[id.EventID][]time.Time
}

func readRedactions(t *testing.T, cli *mautrix.Client, room id.RoomID) roomRedactions {
	t.Helper()
	h := roomRedactions{sent: map[id.EventID]time.Time{}, redactions: map[id.EventID][]time.Time{}}
	eachEvent(t, cli, room, func(evt *event.Event) {
		if evt.StateKey == nil && evt.Type != event.EventRedaction {
			h.sent[evt.ID] = time.UnixMilli(evt.Timestamp)
		}
	})
	testenv.EachRedaction(t, cli, room, func(e *event.Event, target id.EventID) {
		h.redactions[target] = append(h.redactions[target], time.UnixMilli(e.Timestamp))
	})
	return h
}

// countRetention waits until every message the traffic sent to the
// retention room has been redacted (its period and a minute at most),
// then sends two more and, after a few sweeps, reads the room's whole
// history: every event older than the period
// (the traffic's, the command setting it, the bot's notice) must be
// redacted exactly once, no event younger than it at all, and no
// redaction may come before its event's time was up.
func countRetention(t *testing.T, cli *mautrix.Client, room id.RoomID, sent []id.EventID) retentionCounts {
	t.Helper()
	deadline := time.Now().Add(failoverKeep + time.Minute)
	for {
		h, left := readRedactions(t, cli, room), 0
		for _, e := range sent {
			left += boolInt(len(h.redactions[e]) == 0)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Logf("retention: %d of %d messages not redacted by the deadline", left, len(sent))
			break
		}
		time.Sleep(2 * time.Second)
	}
	// Two messages far from expiry, so that what is kept is checked too.
	for i := range 2 {
		testenv.SendText(t, cli, room, fmt.Sprintf("obs round fresh %d", i))
	}
	// A message that expired a moment ago may be on its way to deletion:
	// judged only once a few sweeps have had their chance.
	time.Sleep(5 * time.Second)
	readAt := time.Now().Add(-5 * time.Second)
	h := readRedactions(t, cli, room)
	var out retentionCounts
	for e, at := range h.sent {
		n := len(h.redactions[e])
		switch {
		case at.Add(failoverKeep).Before(readAt):
			out.Expired++
			out.Redacted += boolInt(n == 1)
			out.Lost += boolInt(n == 0)
			out.Doubled += max(n-1, 0)
			if n != 1 {
				t.Errorf("retention: %s (sent %s) redacted %d times, want once", e, at.Format(time.TimeOnly), n)
			}
		case n == 0:
			out.Kept++
		}
		for _, r := range h.redactions[e] {
			if r.Sub(at) < failoverKeep {
				out.Early++
				t.Errorf("retention: %s redacted %s after it was sent, before its %s were up", e, r.Sub(at), failoverKeep)
			}
		}
	}
	t.Logf("retention: %+v", out)
	return out
}

// eachEvent calls fn with every event of a room's history, oldest first.
func eachEvent(t *testing.T, cli *mautrix.Client, room id.RoomID, fn func(*event.Event)) {
	t.Helper()
	seen := map[id.EventID]bool{} // pages may overlap at their edges
	from := "t0_0"                // Dendrite's start of history (it refuses a missing "from")
	for {
		resp, err := cli.Messages(ctx, room, from, "", mautrix.DirectionForward, nil, 500)
		if err != nil {
			t.Fatalf("read history of %s: %v", room, err)
		}
		for _, e := range resp.Chunk {
			if !seen[e.ID] {
				seen[e.ID] = true
				fn(e)
			}
		}
		if len(resp.Chunk) == 0 || resp.End == "" || resp.End == resp.Start {
			return
		}
		from = resp.End
	}
}
