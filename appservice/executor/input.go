package executor

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

type inputKey struct{}

// WithInput names the input being handled (an event ID, a job and what it
// is about). Actions decided under the same input get the same transaction
// IDs, so handling an input again after a crash never repeats what was done.
func WithInput(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, inputKey{}, key)
}

// InputOf is the input named by WithInput, or "".
func InputOf(ctx context.Context) string {
	k, _ := ctx.Value(inputKey{}).(string)
	return k
}

// txnIDs derives one transaction ID per action from the input, the room and
// what the action is — for messages their text, for state its content: the
// same action decided again for the same input has the same ID, while two
// different notices of one input (two members removed) never share one.
// An input with no name gets a random one.
func txnIDs(ctx context.Context, roomID id.RoomID, actions []policy.Action) []string {
	input := InputOf(ctx)
	if input == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		input = "anon:" + hex.EncodeToString(b)
	}
	seen := map[string]int{}
	out := make([]string, len(actions))
	for i, a := range actions {
		body := ""
		switch a.Kind {
		case policy.NotifyRoom, policy.NotifyManagement, policy.NotifyUser, policy.Reply:
			body = a.Text
		case policy.SetState:
			raw, _ := json.Marshal(a.Content)
			body = string(raw)
		}
		what := fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s", input, roomID, a.Kind, a.Rule, a.UserID, a.EventType, a.StateKey, a.EventID, a.Target, body)
		n := seen[what]
		seen[what] = n + 1
		sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d", what, n))
		out[i] = "cal" + hex.EncodeToString(sum[:12])
	}
	return out
}
