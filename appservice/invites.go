package appservice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
)

// sharedInvites answers invitations the bot's sync sees from members of
// other trusts (invitations from our own server arrive by transaction and
// are answered in handleMember). Each is answered once, in its room's lane.
func (s *Service) sharedInvites(ctx context.Context) func(room id.RoomID, inviter id.UserID) {
	return func(room id.RoomID, inviter id.UserID) {
		if s.IsOwnTrust(inviter) {
			return
		}
		if server := s.TrustServerOf(inviter.String()); server != "" && s.TrustBot(server) == inviter.String() {
			// Another trust's bot invites ours only to the bot rooms (the
			// federation's list, attestation rooms), joined by alias anyway.
			return
		}
		if _, busy := s.invitesSeen.LoadOrStore(room, true); busy {
			return
		}
		s.lanes.Submit(ctx, room.String(), false, func() {
			defer s.invitesSeen.Delete(room)
			if err := s.answerSharedInvite(executor.WithInput(ctx, "invite:"+room.String()+":"+inviter.String()), room, inviter); err != nil {
				s.Log.Warn().Err(err).Stringer("room_id", room).Msg("Could not answer an invitation from another trust")
			}
		})
	}
}

// answerSharedInvite joins a clinical room another trust's member invited
// the bot to, so each trust's bot is where its staff are, and guards it
// with the others (see policy.SharedRoom); it declines invitations from
// outside the federation and leaves rooms that turn out not to be clinical.
func (s *Service) answerSharedInvite(ctx context.Context, room id.RoomID, inviter id.UserID) error {
	federated := s.TrustServerOf(inviter.String()) != ""
	var res executor.Result
	var err error
	// The sync can show an invitation over federation before the inviting
	// server has stored it, and then the join is refused ("leave to join");
	// a moment later it goes through. Each try is its own input.
	wait := retry.Delay{Backoff: retry.Backoff{Initial: time.Second}}
	for try := 0; try < 4; try++ {
		if try > 0 && !wait.Wait(ctx) {
			return nil
		}
		tctx := executor.WithInput(ctx, fmt.Sprintf("%s:try%d", executor.InputOf(ctx), try))
		res, err = s.Exec.Execute(tctx, room, inviter.String(), policy.AnswerSharedInvitation(inviter.String(), federated))
		if err != nil || !federated || len(res.Failures) == 0 || res.DryRun {
			break
		}
	}
	if err != nil || !federated || len(res.Failures) > 0 || res.DryRun {
		return err
	}
	f, err := s.Facts.Room(ctx, room)
	if errors.Is(err, mautrix.MForbidden) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.hardening.FollowInvitation(ctx, room, inviter); err != nil {
		return err
	}
	if f, err = s.Facts.Room(ctx, room); err != nil {
		return err
	}
	if f.Class != policy.Clinical {
		_, err := s.Exec.Execute(ctx, room, inviter.String(), policy.LeaveUnsharedRoom(inviter.String()))
		return err
	}
	return s.hardening.ReconcileRoom(ctx, room)
}
