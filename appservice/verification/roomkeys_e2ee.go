//go:build goolm

package verification

import "context"

// DiscardSpentKeys runs after each retention sweep, on the leader only
// (only it runs the encryption device, and the audit write is fenced): the
// bot's device drops the room keys whose every message retention has
// deleted (DiscardSpentRoomKeys), so its crypto store stays the size of
// what the rooms still keep.
func (s *Verification) DiscardSpentKeys(ctx context.Context) {
	if s.crypto == nil {
		return
	}
	own := s.crypto.helper.Machine().OwnIdentity().IdentityKey
	done, err := DiscardSpentRoomKeys(ctx, s.Store, own, s.BotID.String())
	if err != nil {
		s.Log.Warn().Err(err).Int64("discarded", done.Sessions).Msg("Could not discard the room keys of deleted messages")
		return
	}
	if done.Sessions > 0 {
		s.Log.Info().Int64("sessions", done.Sessions).Int64("rooms", done.Rooms).
			Int64("message_indexes", done.MessageIndexes).Msg("Discarded the room keys of messages retention deleted")
	}
}
