package verification

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// keysQueryBatch bounds the users asked about in one /keys/query.
const keysQueryBatch = 100

// clinicalMembership maps each member of a clinical room to their rooms.
func (s *Verification) clinicalMembership(ctx context.Context) (map[string][]id.RoomID, error) {
	rooms, err := s.Store.RoomPolicies(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]id.RoomID{}
	for _, r := range rooms {
		if r.Class != string(policy.Clinical) {
			continue
		}
		members, err := s.Facts.Members(ctx, id.RoomID(r.RoomID))
		if err != nil {
			continue // not in it any more; reconciliation reports it
		}
		for u := range members {
			if u != s.BotID.String() {
				out[u] = append(out[u], id.RoomID(r.RoomID))
			}
		}
	}
	return out, nil
}

// CheckAll checks every member of a clinical room and everyone
// suspended (who is in no room now, so would otherwise never be re-checked).
func (s *Verification) CheckAll(ctx context.Context) {
	if s.Cfg.Verification.Mode == "off" {
		return
	}
	members, err := s.clinicalMembership(ctx)
	if err != nil {
		s.Log.Warn().Err(err).Msg("Verification check: cannot list members")
		return
	}
	suspended, err := s.Store.SuspendedUsers(ctx)
	if err != nil {
		s.Log.Warn().Err(err).Msg("Verification check: cannot list suspended users")
		return
	}
	users := make([]string, 0, len(members)+len(suspended))
	for u := range members {
		users = append(users, u)
	}
	for _, u := range suspended {
		if _, ok := members[u]; !ok {
			users = append(users, u)
		}
	}
	sort.Strings(users)
	if err := s.checkIdentities(ctx, users, members); err != nil {
		s.Log.Warn().Err(err).Msg("Verification check not finished")
	}
}

// CheckIdentities checks the given users only.
func (s *Verification) CheckIdentities(ctx context.Context, users ...string) error {
	if s.Cfg.Verification.Mode == "off" || len(users) == 0 {
		return nil
	}
	members, err := s.clinicalMembership(ctx)
	if err != nil {
		return err
	}
	return s.checkIdentities(ctx, users, members)
}

func (s *Verification) checkIdentities(ctx context.Context, users []string, rooms map[string][]id.RoomID) error {
	times := policy.IdentityGraces{NewMemberGrace: s.Cfg.Verification.NewMemberGrace.Duration, NewDeviceGrace: s.Cfg.Verification.NewDeviceGrace.Duration}
	for start := 0; start < len(users); start += keysQueryBatch {
		batch := users[start:min(start+keysQueryBatch, len(users))]
		vs, _, err := s.verifications(ctx, batch)
		if err != nil {
			return err
		}
		for _, u := range batch {
			if err := s.checkIdentity(ctx, u, vs[u], rooms[u], times); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkIdentity takes one person's next step. The person's state is read
// and acted on under their own lock: a join (in its room's lane) and the
// periodic check (in the person's) could otherwise both see a member not
// yet warned and warn twice, sending two verification requests the
// member's client refuses as "multiple verification requests".
func (s *Verification) checkIdentity(ctx context.Context, u string, v policy.Verification, in []id.RoomID, times policy.IdentityGraces) error {
	unlock := s.lockUser(u)
	defer unlock()
	st, err := s.Store.VerificationStateOf(ctx, u)
	if err != nil {
		return err
	}
	if st.Suspended && v.Status != policy.Verified {
		if in, err = s.roomsStillToSuspend(ctx, u, in); err != nil {
			return err
		}
	}
	step := policy.NextIdentityStep(v, policy.IdentityState{ShortSince: st.ShortSince, Suspended: st.Suspended, InRoomSinceSuspended: len(in) > 0}, times, s.Now())
	return s.identityStep(ctx, u, v, st, step, in)
}

// lockUser serialises the identity checks of one person.
func (s *Verification) lockUser(u string) (unlock func()) {
	m, _ := s.userLocks.LoadOrStore(u, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

func (s *Verification) identityStep(ctx context.Context, user string, v policy.Verification, st store.VerificationState, step policy.IdentityStep, rooms []id.RoomID) error {
	switch step {
	case policy.IdentityWarn:
		if len(rooms) == 0 {
			// In no clinical room (yet: a join may not be listed at once):
			// the grace starts when there is a room to tell them in.
			return nil
		}
		st.Status, st.ShortSince = string(v.Status), s.Now()
		if err := s.Store.SaveVerificationState(ctx, st); err != nil {
			return err
		}
		grace := s.Cfg.Verification.NewMemberGrace.Duration
		if v.Status == policy.UnsignedDevice {
			grace = s.Cfg.Verification.NewDeviceGrace.Duration
		}
		suspendAfter := ""
		if s.Cfg.Verification.Mode == "suspend" {
			suspendAfter = config.FormatDuration(grace)
		}
		if err := s.tellRooms(ctx, rooms, user, policy.VerificationWarning(user, v, suspendAfter)); err != nil {
			return err
		}
		if v.Status == policy.NotAttested {
			return s.promptVerification(ctx, id.UserID(user), rooms[0])
		}
		return nil
	case policy.IdentitySuspend:
		if s.Cfg.Verification.Mode != "suspend" {
			return nil
		}
		if v.Status == policy.IdentityChanged {
			// As Element warns "identity changed": the room must know at once.
			if err := s.tellRooms(ctx, rooms, user, policy.IdentityChangedWarning(user)); err != nil {
				return err
			}
		}
		for _, room := range rooms {
			if err := s.suspendIn(ctx, room, user, v); err != nil {
				return err
			}
		}
		st.Status, st.Suspended = string(v.Status), true
		if st.ShortSince.IsZero() {
			st.ShortSince = s.Now()
		}
		if err := s.Store.SaveVerificationState(ctx, st); err != nil {
			return err
		}
	case policy.IdentityReadmit:
		taken, err := s.Store.TakeSuspensions(ctx, user)
		if err != nil {
			return err
		}
		for _, sus := range taken {
			if err := s.readmitIn(ctx, sus, user); err != nil {
				return err
			}
		}
		if err := s.Store.SaveVerificationState(ctx, store.VerificationState{UserID: user}); err != nil {
			return err
		}
	case policy.IdentityClear:
		if err := s.Store.SaveVerificationState(ctx, store.VerificationState{UserID: user}); err != nil {
			return err
		}
	}
	return nil
}

// roomsStillToSuspend narrows a suspended member's clinical rooms (where
// they are members now) to those where they must be suspended again and
// this bot judges them (another trust's bot judges its own members).
func (s *Verification) roomsStillToSuspend(ctx context.Context, user string, rooms []id.RoomID) ([]id.RoomID, error) {
	if len(rooms) == 0 {
		return nil, nil
	}
	recorded, err := s.Store.Suspensions(ctx, user)
	if err != nil {
		return nil, err
	}
	muted := make(map[string]bool, len(recorded)) // room → suspended there by a mute
	for _, r := range recorded {
		muted[r.RoomID] = r.MutedFrom != nil
	}
	var out []id.RoomID
	for _, room := range rooms {
		f, err := s.Facts.Room(ctx, room)
		if err != nil {
			return nil, err
		}
		mute, wasRecorded := muted[room.String()]
		if !policy.SuspendAgain(wasRecorded, mute, f.PowerLevels.UserLevel(user), f.PowerLevels.UserLevel(s.BotID.String())) {
			continue
		}
		here, err := s.JudgesHere(ctx, f, user)
		if err != nil {
			return nil, err
		}
		if here {
			out = append(out, room)
		}
	}
	return out, nil
}

// tellRooms posts one notice about a member in each of their clinical rooms.
func (s *Verification) tellRooms(ctx context.Context, rooms []id.RoomID, user string, d policy.Decision) error {
	for _, room := range rooms {
		if _, err := s.Exec.Execute(ctx, room, user, d); err != nil {
			return err
		}
	}
	return nil
}

// suspendIn suspends one member in one clinical room: removed, or — where
// the room's policy says suspend: mute — given a power level too low to post.
// If the bot cannot (they have as much power), people are told instead.
func (s *Verification) suspendIn(ctx context.Context, room id.RoomID, user string, v policy.Verification) error {
	f, err := s.Facts.Room(ctx, room)
	if err != nil {
		return err
	}
	if here, err := s.JudgesHere(ctx, f, user); err != nil || !here {
		return err // their own trust's bot, in the room, judges them
	}
	mute := f.Policy.Suspend == policy.SuspendMute
	previous := f.PowerLevels.UserLevel(user)
	if previous >= f.PowerLevels.UserLevel(s.BotID.String()) {
		return s.cannotSuspend(ctx, room, user, fmt.Sprintf("they have power level %d, as much as mine", previous))
	}
	sus := policy.Suspension{UserID: user, Verification: v, Mute: mute}
	if mute {
		if sus.PowerLevels, err = s.Facts.PowerLevelsContent(ctx, room); err != nil {
			return err
		}
	}
	res, err := s.Exec.Execute(ctx, room, user, policy.Suspend(sus))
	if err != nil {
		return err
	}
	if len(res.Failures) > 0 {
		return s.cannotSuspend(ctx, room, user, strings.Join(res.Failures, " "))
	}
	if mute {
		err = s.Store.AddMute(ctx, user, room.String(), previous)
	} else {
		err = s.Store.AddSuspension(ctx, user, room.String())
	}
	if err != nil {
		return err
	}
	return nil
}

// cannotSuspend tells the room and the IG team that people must act.
func (s *Verification) cannotSuspend(ctx context.Context, room id.RoomID, user, why string) error {
	_, err := s.Exec.Execute(ctx, room, user, policy.CannotSuspend(room.String(), user, why))
	return err
}

// readmitIn lets a re-verified member back: invited, or their power restored.
func (s *Verification) readmitIn(ctx context.Context, sus store.Suspension, user string) error {
	room := id.RoomID(sus.RoomID)
	var pl map[string]any
	if sus.MutedFrom != nil {
		var err error
		if pl, err = s.Facts.PowerLevelsContent(ctx, room); err != nil {
			return err
		}
	}
	res, err := s.Exec.Execute(ctx, room, user, policy.Readmit(user, sus.MutedFrom, pl))
	if len(res.Failures) > 0 {
		s.Log.Warn().Str("room_id", sus.RoomID).Str("user_id", user).Int("failures", len(res.Failures)).Msg("Could not readmit a re-verified member")
	}
	return err
}
