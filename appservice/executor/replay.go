package executor

import (
	"context"
	"encoding/json"
	"fmt"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

// replayBatch bounds the pending actions read at once.
const replayBatch = 100

// Replay carries out the actions that were decided but not finished when
// the process stopped, oldest first, before anything new is decided. Each
// is treated as resumed: checked at the homeserver before being done.
func (e *Executor) Replay(ctx context.Context) (int, error) {
	done := 0
	until := e.replayLookUntil() // one deadline for every step replayed
	for {
		pending, err := e.st.PendingActions(ctx, replayBatch)
		if err != nil {
			return done, err
		}
		if len(pending) == 0 {
			return done, nil
		}
		for _, p := range pending {
			var a policy.Action
			if err := json.Unmarshal(p.JSON, &a); err != nil {
				// Unreadable: record it failed rather than block the rest.
				s := actionStep{txn: p.TxnID, room: id.RoomID(p.RoomID), actor: p.Actor}
				if err := e.complete(ctx, s, "failed", err.Error(), "failed.replay", "could not decode a pending action", map[string]any{"txn_id": p.TxnID}); err != nil {
					return done, err
				}
				continue
			}
			s := actionStep{txn: p.TxnID, room: id.RoomID(p.RoomID), actor: p.Actor, action: a, resumed: true, lookUntil: until}
			if _, err := e.run(ctx, s, -1); err != nil {
				return done, fmt.Errorf("replay %s in %s: %w", a.Kind, p.RoomID, err)
			}
			done++
		}
	}
}
