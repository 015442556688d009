package appservice

import (
	"context"
	"errors"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

// reconcileAll checks every room the bot is in, at start-up and on a
// schedule, so changes made while Caldicott was down are repaired too.
func (s *Service) reconcileAll(ctx context.Context) {
	rooms, err := s.bot.JoinedRooms(ctx)
	if err != nil {
		s.log.Error().Err(err).Msg("Could not list joined rooms for reconciliation")
		return
	}
	checked := 0
	for _, roomID := range rooms.JoinedRooms {
		if ctx.Err() != nil {
			return
		}
		if err := s.reconcileRoom(ctx, roomID); err != nil {
			s.log.Error().Err(err).Stringer("room_id", roomID).Msg("Could not reconcile room")
			continue
		}
		checked++
	}
	s.log.Info().Int("rooms", checked).Msg("Reconciled rooms")
}

// reconcileRoom records a room's class and, if clinical, restores its
// protections and judges its members.
func (s *Service) reconcileRoom(ctx context.Context, roomID id.RoomID) error {
	f, err := s.loadFacts(ctx, roomID)
	if errors.Is(err, mautrix.MForbidden) {
		return nil // not (or no longer) in the room
	}
	if err != nil {
		return err
	}
	if err := s.enforce(ctx, f, policy.Cause{Kind: policy.CauseReconcile}); err != nil {
		return err
	}
	// Someone may have joined while Caldicott was away.
	_, err = s.sweepRoom(ctx, f, policy.OnSweep)
	return err
}
