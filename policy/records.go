package policy

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// RecordAccepted tells the room, in reply to the `!policy record` command,
// that the patient record has the message.
func RecordAccepted(commandID, resource string) Decision {
	return ReplyWith(RulePatientRecord, commandID, fmt.Sprintf("✅ The patient record has accepted this message (%s). It is now deleted with the room's other messages when its retention period ends.", resource))
}

// RecordWaiting tells the room, once per message, that the patient record
// could not be reached at the first try: the message waits, kept.
func RecordWaiting(commandID string) Decision {
	return ReplyWith(RulePatientRecord, commandID, "⏳ The patient record cannot be reached at the moment. This message waits for it and is kept, whatever the room's retention; I will confirm here when the record has accepted it. Nothing needs doing here.")
}

// RecordsUnreachable tells the IG team, once per outage, that the patient
// record cannot be reached and how many messages wait for it.
func RecordsUnreachable(cause string, waiting int) Decision {
	return ManagementNotice(RulePatientRecord, fmt.Sprintf("The patient record (records.fhir_base_url) cannot be reached: %s. %d message(s) marked for it wait; they are kept whatever their rooms' retention and are sent, each once, when it is back. Rooms are reminded before a waiting message would have expired.", cause, waiting), "patient record unreachable")
}

// RecordsReachable clears RecordsUnreachable, once, when the record accepts again.
func RecordsReachable(lasted time.Duration) Decision {
	return ManagementNotice(RulePatientRecord, fmt.Sprintf("The patient record can be reached again (it could not be for %s). The messages waiting for it are being sent now; each room is told when its message is accepted.", lasted), "patient record reachable again")
}

// RecordRefused tells the room that the patient record refused the message,
// with the record's reason; it is kept and tried again.
func RecordRefused(commandID, reason string, retry time.Duration) Decision {
	return ReplyWith(RulePatientRecord, commandID, fmt.Sprintf("⚠ The patient record refused this message: %s. It is kept and tried again every %s; if the reason is in the message itself, ask your IG team.", reason, FormatDays(retry)))
}

// RecordReminder warns room admins that a message marked for the record
// has still not been accepted though its retention period is nearly over:
// it calls on each of them by name (admins: user ID to display name), so
// that their clients notify them.
func RecordReminder(commandID string, expires time.Time, admins map[string]string) Decision {
	text := fmt.Sprintf("⏰ This message has not reached the patient record yet, and its retention period ends %s. It is kept until the record accepts it; `!policy status` shows why it is waiting.", expires.UTC().Format("2 Jan 2006 15:04 MST"))
	ids := slices.Sorted(maps.Keys(admins))
	if len(ids) == 0 {
		return ReplyWith(RulePatientRecord, commandID, text)
	}
	names := make([]string, len(ids))
	for i, u := range ids {
		names[i] = cmp.Or(admins[u], u)
	}
	d := ReplyWith(RulePatientRecord, commandID, strings.Join(names, ", ")+": "+text)
	d.Actions[0].Mentions = ids
	return d
}

// RoomAdmins are the joined members (user ID to display name) with the
// power to change the room's policy — those who may mark messages for the
// record — the bot excepted.
func RoomAdmins(pl PowerLevels, members map[string]string, bot string) map[string]string {
	need := pl.EventLevel(PolicyEventType, true)
	out := map[string]string{}
	for u, name := range members {
		if u != bot && pl.UserLevel(u) >= need {
			out[u] = name
		}
	}
	return out
}

// RecordedAndExpired deletes a message that was kept past its retention
// period only because it awaited the record, once the record has it.
func RecordedAndExpired(eventID string, r Retention, held bool, sent, now time.Time) Decision {
	res := SweepPage(now, r, held, []SweepEvent{{ID: eventID, Type: "m.room.message", Sent: sent}}, 1)
	return res.Decision
}

// ReplyWith answers an earlier command event for a rule.
func ReplyWith(rule, eventID, text string) Decision {
	return Decision{Actions: []Action{{Kind: Reply, Rule: rule, EventID: eventID, Text: text, Reason: rule}}}
}
