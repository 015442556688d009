package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// txnMarkKey carries a message's transaction ID in its (outer) content.
// Dendrite drops a repeated transaction ID only once it has answered the
// first request: a process killed while its message was on the way leaves
// the message sent and no answer recorded, so the next leader's replay
// would post it again. The mark lets the replay find it first. It is a
// hash of the decision's input, never the text, and sits outside the
// ciphertext of an encrypted message, where clients ignore it.
const txnMarkKey = "org.caldicott.txn"

// sentLookback is how many of the bot's latest messages in a room a
// resumed message is looked for among: a replay follows the crash within
// minutes, and the bot's messages in one room are few.
const sentLookback = 50

// marked is content with the transaction's mark beside its own fields.
func marked(content any, txn string) *event.Content {
	return &event.Content{Parsed: content, Raw: map[string]any{txnMarkKey: txn}}
}

// alreadySent reports whether the bot's recent messages in roomID hold
// one marked with txn, allowing for the homeserver's lag until until: a message
// resumed after a crash that the homeserver did store. A history that
// cannot be read is an error (the action is retried), never a guess either
// way.
func (e *Executor) alreadySent(ctx context.Context, roomID id.RoomID, txn string, until time.Time) (bool, error) {
	sent, err := shownWithinLag(ctx, until, func() (bool, error) { return e.sentAmongLatest(ctx, roomID, txn) })
	if sent {
		e.log.Info().Stringer("room_id", roomID).Str("txn", txn).Msg("A resumed message was already sent; not sending it again")
	}
	return sent, err
}

// sentAmongLatest reads the bot's latest messages in roomID once and says
// whether one is marked with txn.
func (e *Executor) sentAmongLatest(ctx context.Context, roomID id.RoomID, txn string) (bool, error) {
	filter := &mautrix.FilterPart{Senders: []id.UserID{e.bot.UserID}}
	resp, err := e.bot.Messages(ctx, roomID, "", "", mautrix.DirectionBackward, filter, sentLookback)
	if err != nil {
		return false, fmt.Errorf("look for a resumed message in %s: %w", roomID, err)
	}
	for _, evt := range resp.Chunk {
		var mark map[string]json.RawMessage
		if json.Unmarshal(evt.Content.VeryRaw, &mark) != nil {
			continue
		}
		var got string
		if json.Unmarshal(mark[txnMarkKey], &got) == nil && got == txn {
			return true, nil
		}
	}
	return false, nil
}
