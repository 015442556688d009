package hardening

import (
	"context"
	"errors"
	"maps"
	"sync"
	"sync/atomic"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/worker"
	"github.com/caldicott/caldicott/policy"
)

// ReconcileAll checks every room the bot is in, at start-up and on a
// schedule, so changes made while Caldicott was down are repaired too;
// the riskiest rooms first (byRisk).
func (s *Hardening) ReconcileAll(ctx context.Context) {
	rooms, err := s.Bot.JoinedRooms(ctx)
	if err != nil {
		s.Log.Error().Err(err).Msg("Could not list joined rooms for reconciliation")
		return
	}
	order := rooms.JoinedRooms
	if known, err := s.Store.RoomPolicies(ctx); err != nil {
		s.Log.Warn().Err(err).Msg("Could not read rooms' records to reconcile the riskiest first; in the homeserver's order")
	} else {
		order = byRisk(order, known)
	}
	// Each room in its own lane, as a long job: in order with that room's
	// events, in parallel with other rooms, never taking enforcement's
	// slots. Submission waits for a job slot, so rooms start in this order.
	var checked atomic.Int64
	var wg sync.WaitGroup
	for _, roomID := range order {
		wg.Add(1)
		s.lanes.Submit(ctx, roomID.String(), true, func() {
			defer wg.Done()
			s.lanes.YieldToEnforcement(ctx)
			if err := s.ReconcileRoom(ctx, roomID); err != nil {
				s.Log.Error().Err(err).Stringer("room_id", roomID).Msg("Could not reconcile room")
				return
			}
			checked.Add(1)
		})
	}
	worker.WaitOrDone(ctx, &wg)
	s.Log.Info().Int64("rooms", checked.Load()).Msg("Reconciled rooms")
}

// ReconcileRoom records a room's class and, if clinical, restores its
// protections and judges its members.
func (s *Hardening) ReconcileRoom(ctx context.Context, roomID id.RoomID) error {
	f, members, err := s.Facts.RoomAndMembers(ctx, roomID)
	if errors.Is(err, mautrix.MForbidden) {
		return nil // not (or no longer) in the room
	}
	if err != nil {
		return err
	}
	if err := s.Protect(ctx, f, policy.Cause{Kind: policy.CauseReconcile}); err != nil {
		return err
	}
	if f.Class != policy.Clinical {
		return nil
	}
	// The members were read afresh with the state (once per room per
	// reconciliation): anyone not in the list last recorded joined while
	// Caldicott was away, and is judged as a joiner now, not as a sweep
	// would.
	before, known, err := s.Store.RoomMembers(ctx, roomID.String())
	if err != nil {
		return err
	}
	joiners := map[string]bool{}
	for u := range members {
		if _, seen := before[u]; known && !seen {
			joiners[u] = true
		}
	}
	if _, err := s.Members.JudgeMembers(ctx, f, members, joiners, policy.OnSweep); err != nil {
		return err
	}
	if known && maps.Equal(before, members) {
		return nil // unchanged: no write to hold up enforcement's writes
	}
	if err := s.Store.SaveRoomMembers(ctx, roomID.String(), members); err != nil {
		return err
	}
	return nil
}

// ReprotectClinical restores every clinical room's protections now — after
// the federation's member trusts changed, so each room's server ACL follows
// within a minute. Each room is a long job in its own lane, lightly paced.
func (s *Hardening) ReprotectClinical(ctx context.Context) {
	rooms, err := s.Store.RoomPolicies(ctx)
	if err != nil {
		s.Log.Error().Err(err).Msg("Could not list clinical rooms to bring their server ACLs in line")
		return
	}
	var wg sync.WaitGroup
	var done atomic.Int64
	for _, rp := range rooms {
		if rp.Class != string(policy.Clinical) {
			continue
		}
		roomID := id.RoomID(rp.RoomID)
		wg.Add(1)
		s.lanes.SubmitJob(ctx, roomID.String(), reprotectRest, func() {
			defer wg.Done()
			s.lanes.YieldToEnforcement(ctx)
			f, err := s.Facts.Room(ctx, roomID)
			if err != nil {
				return
			}
			if err := s.Protect(ctx, f, policy.Cause{Kind: policy.CauseTrusts}); err == nil {
				done.Add(1)
			}
		})
	}
	worker.WaitOrDone(ctx, &wg)
	s.Log.Info().Int64("rooms", done.Load()).Msg("Clinical rooms brought in line with the federation's trusts")
}

// reprotectRest: the ACL update must reach a thousand rooms within a
// minute (measured at 0.5: 78 s, about 100 ms a room on two slots), so its
// slots do not rest; each room still waits while enforcement runs.
const reprotectRest = 0
