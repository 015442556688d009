package facts

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// memberCache holds each room's joined members and display names, fed by
// the membership events the homeserver sends, so the rules do not ask the
// homeserver for a member list they already know. A room's list is read
// from the homeserver once (and again at each reconciliation), and every
// membership event is applied to it in order — except a join older than
// the bot's own removal of that person, which arrives late and is over.
type memberCache struct {
	mu    sync.Mutex
	rooms map[id.RoomID]*roomMembers
}

type roomMembers struct {
	names map[string]string
	// removed: when the bot removed each person, so their older join,
	// delivered late, does not bring them back.
	removed map[string]time.Time
}

// Members maps a room's joined members to their display names.
func (s *Reader) Members(ctx context.Context, roomID id.RoomID) (map[string]string, error) {
	s.members.mu.Lock()
	rm, ok := s.members.rooms[roomID]
	var out map[string]string
	if ok {
		out = maps.Clone(rm.names)
	}
	s.members.mu.Unlock()
	if ok {
		return out, nil
	}
	return s.Refresh(ctx, roomID)
}

// Refresh reads a room's members from the homeserver and remembers them.
func (s *Reader) Refresh(ctx context.Context, roomID id.RoomID) (map[string]string, error) {
	resp, err := s.bot.JoinedMembers(ctx, roomID)
	if err != nil {
		return nil, fmt.Errorf("list members of %s: %w", roomID, err)
	}
	names := make(map[string]string, len(resp.Joined))
	for uid, m := range resp.Joined {
		names[uid.String()] = m.DisplayName
	}
	return s.remember(roomID, names), nil
}

// remember replaces a room's cached member list with one just read from
// the homeserver, and returns a copy for the caller.
func (s *Reader) remember(roomID id.RoomID, names map[string]string) map[string]string {
	s.members.mu.Lock()
	if s.members.rooms == nil {
		s.members.rooms = map[id.RoomID]*roomMembers{}
	}
	removed := map[string]time.Time{}
	if old, ok := s.members.rooms[roomID]; ok {
		removed = old.removed // a reload does not make a late join new again
	}
	s.members.rooms[roomID] = &roomMembers{names: names, removed: removed}
	s.members.mu.Unlock()
	if s.reads != nil {
		s.reads.Inc()
	}
	return maps.Clone(names)
}

// NoteMembership applies a membership event to the cache and to the stored
// member list (how the next start-up knows who joined while it was away).
func (s *Reader) NoteMembership(ctx context.Context, evt *event.Event) error {
	user := evt.GetStateKey()
	content := evt.Content.AsMember()
	joined := content.Membership == event.MembershipJoin
	s.members.mu.Lock()
	rm, ok := s.members.rooms[evt.RoomID]
	stale := false
	if ok && joined {
		if at, gone := rm.removed[user]; gone && !time.UnixMilli(evt.Timestamp).After(at) {
			stale = true
		}
	}
	switch {
	case user == s.botID && !joined && content.Membership != event.MembershipInvite:
		delete(s.members.rooms, evt.RoomID) // the bot left: nothing to keep
	case ok && !stale && joined:
		rm.names[user] = content.Displayname
	case ok && !stale && content.Membership != event.MembershipInvite:
		delete(rm.names, user)
	}
	s.members.mu.Unlock()
	if stale || content.Membership == event.MembershipInvite {
		return nil
	}
	return s.store.SetRoomMember(ctx, evt.RoomID.String(), user, content.Displayname, joined)
}

// ForgetMember drops one member from the cache, after the bot removed them.
func (s *Reader) ForgetMember(roomID id.RoomID, user string) {
	s.members.mu.Lock()
	defer s.members.mu.Unlock()
	if rm, ok := s.members.rooms[roomID]; ok {
		delete(rm.names, user)
		rm.removed[user] = s.now()
	}
}
