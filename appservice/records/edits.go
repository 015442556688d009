package records

import (
	"context"
	"fmt"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// latestEdit is the text of the newest edit of a message by its own
// sender (Element replies to the original event, but what the clinician
// sees, and what belongs in the record, is the edited text). An empty
// text means there is no readable edit. Edits by anyone else are ignored,
// as clients ignore them.
func (r *Records) latestEdit(ctx context.Context, roomID id.RoomID, original *event.Event) (string, error) {
	resp, err := r.Bot.GetRelations(ctx, roomID, original.ID, &mautrix.ReqGetRelations{
		RelationType: event.RelReplace, Dir: mautrix.DirectionBackward, Limit: 50,
	})
	if err != nil {
		return "", fmt.Errorf("read edits of %s: %w", original.ID, err)
	}
	for _, evt := range resp.Chunk { // newest first
		if evt.Sender != original.Sender {
			continue
		}
		if _, m := r.plainMessage(ctx, evt); m != nil && m.NewContent != nil && m.NewContent.Body != "" {
			return m.NewContent.Body, nil
		}
	}
	return "", nil
}
