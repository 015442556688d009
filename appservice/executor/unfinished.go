package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// unfinished holds, per input, the actions of a decision that stopped at a
// transient failure (the homeserver down between a removal and its
// notice). The same input handled again may decide less — the person is
// gone now, so nothing to remove and no notice — and the notice would stay
// pending until the next start-up's Replay; so Execute finishes these
// first, whatever it decides this time.
type unfinished struct {
	mu    sync.Mutex
	steps map[string][]actionStep
}

// keep remembers the steps left of input's decision, to be resumed.
func (u *unfinished) keep(input string, steps []actionStep) {
	if input == "" || len(steps) == 0 {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.steps == nil {
		u.steps = map[string][]actionStep{}
	}
	until := freshLookUntil()
	for i := range steps {
		steps[i].resumed = true // its outcome is unknown: check before acting
		steps[i].lookUntil = until
	}
	u.steps[input] = steps
}

// take hands over (and forgets) what input left unfinished.
func (u *unfinished) take(input string) []actionStep {
	u.mu.Lock()
	defer u.mu.Unlock()
	steps := u.steps[input]
	delete(u.steps, input)
	return steps
}

// finishUnfinished runs what the last try of this input left, before its
// new decision is planned (which then finds them done). Those the action
// log says are done (by Replay, after the lease was lost and taken again)
// are skipped. A transient failure keeps the rest for the next try.
func (e *Executor) finishUnfinished(ctx context.Context) error {
	input := InputOf(ctx)
	steps := e.unfinished.take(input)
	if len(steps) == 0 {
		return nil
	}
	planned := make([]store.LoggedAction, len(steps))
	for i, s := range steps {
		raw, err := json.Marshal(s.action)
		if err != nil {
			return fmt.Errorf("encode %s action: %w", s.action.Kind, err)
		}
		planned[i] = store.LoggedAction{TxnID: s.txn, RoomID: s.room.String(), Actor: s.actor, JSON: raw}
	}
	known, err := e.st.PlanActions(ctx, planned)
	if err != nil {
		e.unfinished.keep(input, steps)
		return err
	}
	for i, s := range steps {
		if prior, seen := known[s.txn]; seen && prior.State != store.ActionPending {
			continue // done meanwhile: never again
		}
		if _, err := e.run(ctx, s, -1); err != nil {
			if retry.IsTransient(err) {
				e.unfinished.keep(input, steps[i:])
			}
			return err
		}
	}
	return nil
}

// rest is the steps of a decision from its i-th action on.
func rest(txns []string, roomID id.RoomID, actor string, actions []policy.Action, i int) []actionStep {
	out := make([]actionStep, 0, len(actions)-i)
	for j := i; j < len(actions); j++ {
		out = append(out, actionStep{txn: txns[j], room: roomID, actor: actor, action: actions[j]})
	}
	return out
}
