package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/bridges/epr"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/nhsnumber"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

var CommandRecord = commands.Def[*Records]{
	CommandSpec: policy.CommandSpec{
		Name: "record", Usage: "!policy record <NHS number>",
		Summary: "Room admins: reply to a message with this to send it to the patient's record.",
		MinArgs: 1, MaxArgs: 3, Place: policy.InRoom, Needs: policy.RoomPolicyPower,
	},
	Doc: "In reply to a message in a clinical room: sends it to the patient record (the trust's FHIR R4 server, " +
		"`records.fhir_base_url`) as a Communication about the patient with this NHS number (checked by its check " +
		"digit; spaces or dashes allowed), attributed to its sender with their name and professional registration " +
		"from the staff directory, with its recipients, when it was sent, who recorded it and a link back. Delivery " +
		"is retried until the record accepts it, and the room is told; until then the message is kept whatever the " +
		"retention, and room admins are reminded before it would have expired. `!policy status` shows what is " +
		"waiting.",
	Run: (*Records).cmdRecord,
}

// cmdRecord: a room admin, replying to a message in a clinical room, sends
// it to the patient record of the NHS number given.
func (r *Records) cmdRecord(ctx context.Context, c *commands.Call) error {
	if !r.Enabled() {
		return r.Reply(ctx, c.Evt, "The patient record is not connected to Caldicott at this trust (`records.fhir_base_url` is not set); ask your IG team.")
	}
	if c.Facts.Class != policy.Clinical {
		return r.Reply(ctx, c.Evt, "Messages are sent to the patient record from clinical rooms only.")
	}
	target := c.Evt.Content.AsMessage().RelatesTo.GetReplyTo()
	if target == "" {
		return r.Reply(ctx, c.Evt, "Reply to the message you want in the patient record with `!policy record <NHS number>`.")
	}
	nhs, err := nhsnumber.Normalize(strings.Join(c.Args, ""))
	if err != nil {
		// The reason never repeats the number.
		return r.Reply(ctx, c.Evt, fmt.Sprintf("That is not a valid NHS number: %v. Nothing was recorded.", err))
	}
	msg, sent, sender, err := r.readMessage(ctx, c.Evt.RoomID, target)
	if err != nil {
		return err
	}
	if msg == "" {
		return r.Reply(ctx, c.Evt, "I cannot read that message (only text messages I can decrypt can be recorded), so nothing was recorded.")
	}
	rec, err := r.buildRecord(ctx, c, nhs, target, msg, sent, sender)
	if err != nil {
		return err
	}
	payload, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	if _, err := epr.Build(rec); err != nil {
		return r.Reply(ctx, c.Evt, fmt.Sprintf("I cannot make a record of that message: %v.", err))
	}
	audit, err := requestAudit(c, target)
	if err != nil {
		return err
	}
	row, err := r.Store.AddRecordWithAudit(ctx, store.PatientRecord{
		RoomID: c.Evt.RoomID.String(), EventID: target.String(), CommandID: c.Evt.ID.String(),
		RecordedBy: c.Evt.Sender.String(), SentAt: sent, Payload: string(payload),
	}, audit)
	if errors.Is(err, store.ErrAlreadyRecorded) && row.CommandID != c.Evt.ID.String() {
		return r.Reply(ctx, c.Evt, alreadyText(row))
	}
	if err != nil && !errors.Is(err, store.ErrAlreadyRecorded) {
		return retry.Transient(err)
	}
	// Queued now, or by this very command before a crash (handled again:
	// the same answer, which the executor does not send twice).
	r.Wake()
	return r.Reply(ctx, c.Evt, sendingText)
}

// sendingText answers a command that queued a message for the record.
const sendingText = "Sending this message to the patient record. I will confirm here when the record has accepted it; until then it is kept, whatever the room's retention."

// requestAudit is the audit entry of a request to record target: never the
// message or the NHS number.
func requestAudit(c *commands.Call, target id.EventID) (store.AuditEntry, error) {
	detail, err := json.Marshal(map[string]any{"event_id": target.String()})
	if err != nil {
		return store.AuditEntry{}, fmt.Errorf("encode audit detail: %w", err)
	}
	return store.AuditEntry{Actor: c.Evt.Sender.String(), RoomID: c.Evt.RoomID.String(), Action: "record.requested", Reason: "message sent to the patient record", Detail: string(detail)}, nil
}

func alreadyText(row store.PatientRecord) string {
	switch row.State {
	case store.RecordAccepted:
		return fmt.Sprintf("That message is already in the patient record (accepted %s).", row.AcceptedAt.UTC().Format("2 Jan 2006 15:04 MST"))
	case store.RecordRejected:
		return "That message was sent to the patient record, which refused it: " + row.LastError + ". It is tried again every hour; `!policy status` shows it."
	}
	return "That message is already on its way to the patient record; `!policy status` shows it."
}

// readMessage fetches the message replied to and its text, decrypting it
// with the bot's device in an encrypted room. An empty text means it is
// not a text message the bot can read.
func (r *Records) readMessage(ctx context.Context, roomID id.RoomID, eventID id.EventID) (string, time.Time, id.UserID, error) {
	evt, err := r.Bot.GetEvent(ctx, roomID, eventID)
	if errors.Is(err, mautrix.MNotFound) || errors.Is(err, mautrix.MForbidden) {
		return "", time.Time{}, "", nil
	}
	if err != nil {
		return "", time.Time{}, "", retry.Transient(err)
	}
	evt, m := r.plainMessage(ctx, evt)
	if m == nil {
		return "", time.Time{}, "", nil
	}
	if m.MsgType != event.MsgText && m.MsgType != event.MsgNotice && m.MsgType != event.MsgEmote {
		return "", time.Time{}, "", nil
	}
	body := m.Body
	if nc := m.NewContent; nc != nil && nc.Body != "" {
		body = nc.Body // the event replied to is itself an edit
	} else {
		edited, err := r.latestEdit(ctx, roomID, evt)
		if err != nil {
			return "", time.Time{}, "", err
		}
		if edited != "" {
			body = edited
		}
	}
	return body, time.UnixMilli(evt.Timestamp), evt.Sender, nil
}

// plainMessage parses a fetched event and, in an encrypted room, decrypts
// it with the bot's device: the event as the bot can read it and its
// message, or nil when it is not a message the bot can read.
func (r *Records) plainMessage(ctx context.Context, evt *event.Event) (*event.Event, *event.MessageEventContent) {
	_ = evt.Content.ParseRaw(evt.Type)
	if evt.Type == event.EventEncrypted {
		if r.Decrypt == nil {
			return evt, nil
		}
		plain, err := r.Decrypt.Decrypt(ctx, evt)
		if err != nil {
			return evt, nil
		}
		evt = plain
	}
	if evt.Type != event.EventMessage {
		return evt, nil
	}
	return evt, evt.Content.AsMessage()
}

// buildRecord gathers who sent, who received and who recorded the message,
// with names and registrations from the staff directory.
func (r *Records) buildRecord(ctx context.Context, c *commands.Call, nhs string, target id.EventID, text string, sent time.Time, sender id.UserID) (epr.Record, error) {
	person := func(user string) (epr.Person, error) {
		p := epr.Person{MatrixID: user}
		st, err := r.Store.Staff(ctx, user)
		if errors.Is(err, store.ErrNotFound) {
			return p, nil
		}
		if err != nil {
			return p, err
		}
		p.Name, p.Registration = st.Name, st.Registration
		return p, nil
	}
	from, err := person(sender.String())
	if err != nil {
		return epr.Record{}, err
	}
	by, err := person(c.Evt.Sender.String())
	if err != nil {
		return epr.Record{}, err
	}
	members, err := r.Facts.Members(ctx, c.Evt.RoomID)
	if err != nil {
		return epr.Record{}, err
	}
	var to []epr.Person
	for user := range members {
		if user == sender.String() || user == r.BotID.String() {
			continue
		}
		p, err := person(user)
		if err != nil {
			return epr.Record{}, err
		}
		to = append(to, p)
	}
	slices.SortFunc(to, func(a, b epr.Person) int { return strings.Compare(a.MatrixID, b.MatrixID) })
	return epr.Record{
		NHSNumber: nhs, Sender: from, Recipients: to, Sent: sent, Text: text,
		RecordedBy: by, RecordedAt: r.Now().UTC(), RoomID: c.Evt.RoomID.String(), EventID: target.String(),
	}, nil
}
