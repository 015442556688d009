package audithead

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

// Published is one head as it stands in a room's history: every
// org.caldicott.audit.head event ever sent there, not only the current one.
type Published struct {
	EventID id.EventID
	Room    id.RoomID
	Sender  id.UserID
	// Where names the room for people: "the attestation room".
	Where string
	// Sent is the event's origin_server_ts.
	Sent time.Time
	// Head is valid when Problem is "".
	Head Head
	// Problem says why this head cannot be trusted: set by someone else,
	// redacted, malformed, or not signed by the expected key.
	Problem string
	// ServedBy names the homeservers that served this event.
	ServedBy []string
}

// historyPage is how many events are asked for per /messages page.
const historyPage = 100

// ReadHistory reads every audit head ever sent in room, oldest first, as
// cli's homeserver serves the room's history, and checks each one against
// bot and its master key (unpadded base64).
//
// The whole timeline is paged without a type filter: Dendrite v0.15.2
// applies the filter after the page limit and ends pagination at the first
// page with nothing matching (syncapi/routing/messages.go), so a filtered
// read would stop at the first page of other events and miss older heads.
func ReadHistory(ctx context.Context, cli *mautrix.Client, room id.RoomID, where string, bot id.UserID, masterKey string) ([]Published, error) {
	var out []Published
	from := ""
	for {
		resp, err := cli.Messages(ctx, room, from, "", mautrix.DirectionBackward, nil, historyPage)
		if err != nil {
			return nil, fmt.Errorf("read the history of %s: %w", room, err)
		}
		for _, evt := range resp.Chunk {
			if evt.Type.Type != policy.AuditHeadEventType || evt.StateKey == nil || *evt.StateKey != "" {
				continue
			}
			out = append(out, checkHistoric(evt, room, where, bot, masterKey))
		}
		if len(resp.Chunk) == 0 || resp.End == "" || resp.End == from {
			break
		}
		from = resp.End
	}
	// Pages come newest first.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// checkHistoric reads one head event of the history.
func checkHistoric(evt *event.Event, room id.RoomID, where string, bot id.UserID, masterKey string) Published {
	p := Published{EventID: evt.ID, Room: room, Sender: evt.Sender, Where: where, Sent: time.UnixMilli(evt.Timestamp).UTC()}
	if rb := evt.Unsigned.RedactedBecause; rb != nil {
		p.Problem = fmt.Sprintf("it was redacted by %s (a published head must stay as it was published)", rb.Sender)
		return p
	}
	raw := evt.Content.VeryRaw
	var err error
	if p.Head, err = CheckSigned(raw, evt.Sender, bot, masterKey); err != nil {
		p.Problem = err.Error()
		if keys := signingKeys(raw, bot); len(keys) > 0 && strings.Contains(p.Problem, "does not verify") {
			p.Problem = fmt.Sprintf("it is signed with %s, not with the key %s expected of %s",
				strings.Join(keys, ", "), policy.Fingerprint(strings.TrimRight(masterKey, "=")), bot)
		}
	}
	return p
}

// signingKeys are the key IDs a head says it is signed with, for a report.
func signingKeys(raw json.RawMessage, bot id.UserID) []string {
	var h struct {
		Signatures map[string]map[string]string `json:"signatures"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return nil
	}
	var keys []string
	for k := range h.Signatures[bot.String()] {
		keys = append(keys, policy.Fingerprint(strings.TrimPrefix(k, "ed25519:")))
	}
	return keys
}
