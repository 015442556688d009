package appservice

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// keysQueryBatch bounds the users asked about in one /keys/query.
const keysQueryBatch = 100

// clinicalMembership maps each member of a clinical room to their rooms.
func (s *Service) clinicalMembership(ctx context.Context) (map[string][]id.RoomID, error) {
	rooms, err := s.store.RoomPolicies(ctx)
	if err != nil {
		return nil, transientError{err}
	}
	out := map[string][]id.RoomID{}
	for _, r := range rooms {
		if r.Class != string(policy.Clinical) {
			continue
		}
		members, err := s.memberNames(ctx, id.RoomID(r.RoomID))
		if err != nil {
			continue // not in it any more; reconciliation reports it
		}
		for u := range members {
			if u != s.botID.String() {
				out[u] = append(out[u], id.RoomID(r.RoomID))
			}
		}
	}
	return out, nil
}

// checkAllVerification checks every member of a clinical room and everyone
// suspended (who is in no room now, so would otherwise never be re-checked).
func (s *Service) checkAllVerification(ctx context.Context) {
	if s.cfg.Verification.Mode == "off" {
		return
	}
	members, err := s.clinicalMembership(ctx)
	if err != nil {
		s.log.Warn().Err(err).Msg("Verification check: cannot list members")
		return
	}
	suspended, err := s.store.SuspendedUsers(ctx)
	if err != nil {
		s.log.Warn().Err(err).Msg("Verification check: cannot list suspended users")
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
	if err := s.enforceVerification(ctx, users, members); err != nil {
		s.log.Warn().Err(err).Msg("Verification check not finished")
	}
}

// enforceVerificationOf checks the given users only.
func (s *Service) enforceVerificationOf(ctx context.Context, users ...string) error {
	if s.cfg.Verification.Mode == "off" || len(users) == 0 {
		return nil
	}
	members, err := s.clinicalMembership(ctx)
	if err != nil {
		return err
	}
	return s.enforceVerification(ctx, users, members)
}

func (s *Service) enforceVerification(ctx context.Context, users []string, rooms map[string][]id.RoomID) error {
	times := policy.EnforcementTimes{NewMemberGrace: s.cfg.Verification.NewMemberGrace.Duration, NewDeviceGrace: s.cfg.Verification.NewDeviceGrace.Duration}
	for start := 0; start < len(users); start += keysQueryBatch {
		batch := users[start:min(start+keysQueryBatch, len(users))]
		vs, _, err := s.verifications(ctx, batch)
		if err != nil {
			return err
		}
		for _, u := range batch {
			st, err := s.store.VerificationStateOf(ctx, u)
			if err != nil {
				return transientError{err}
			}
			own := id.UserID(u).Homeserver() == s.cfg.Homeserver.Domain
			step := policy.NextEnforcementStep(vs[u], policy.EnforcementState{ShortSince: st.ShortSince, Suspended: st.Suspended}, times, own, s.now())
			if err := s.enforcementStep(ctx, u, vs[u], st, step, rooms[u]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Service) enforcementStep(ctx context.Context, user string, v policy.Verification, st store.VerificationState, step policy.EnforcementStep, rooms []id.RoomID) error {
	switch step {
	case policy.EnforceWarn:
		st.Status, st.ShortSince = string(v.Status), s.now()
		if err := s.store.SaveVerificationState(ctx, st); err != nil {
			return transientError{err}
		}
		grace := s.cfg.Verification.NewMemberGrace.Duration
		if v.Status == policy.UnsignedDevice {
			grace = s.cfg.Verification.NewDeviceGrace.Duration
		}
		what := fmt.Sprintf("%s: %s", user, v.Explain)
		if s.cfg.Verification.Mode == "suspend" {
			what += fmt.Sprintf(" If this is not fixed within %s, I will suspend you from clinical rooms until it is.", config.FormatDuration(grace))
		}
		return s.tellRooms(ctx, rooms, user, "verification_warning", what, string(v.Status))
	case policy.EnforceSuspend:
		if s.cfg.Verification.Mode != "suspend" {
			return nil
		}
		if v.Status == policy.IdentityChanged {
			// As Element warns "identity changed": the room must know at once.
			if err := s.tellRooms(ctx, rooms, user, "identity_changed", fmt.Sprintf("⚠ %s's identity has changed. This may be a new phone, or someone else. I have suspended them from clinical rooms until their identity is confirmed again.", user), string(v.Status)); err != nil {
				return err
			}
		}
		reason := "Suspended from clinical rooms until your identity is verified: " + v.Explain
		for _, room := range rooms {
			d := policy.Decision{Actions: []policy.Action{
				{Kind: policy.Kick, Rule: "verification", UserID: user, Text: reason, Reason: "verification: " + string(v.Status)},
				{Kind: policy.NotifyRoom, Rule: "verification", Text: fmt.Sprintf("I suspended %s from this clinical room: their identity is not verified (%s). They will be invited back once it is.", user, statusWords[v.Status]), Reason: "suspension explained"},
			}}
			failures, err := s.execute(ctx, room, user, d)
			if err != nil {
				return err
			}
			if len(failures) > 0 {
				// Typically a room admin with as much power as the bot: people
				// must act, so both the room and the IG team are told.
				msg := fmt.Sprintf("I could not suspend %s from clinical room %s (%s): they may have as much power as I do. A room admin or the IG team must remove them until their identity is confirmed.", user, room, strings.Join(failures, " "))
				if err := s.sendNotice(ctx, room, msg); err != nil && isTransient(err) {
					return err
				}
				if err := s.notifyManagement(ctx, msg); err != nil {
					return err
				}
				continue
			}
			if err := s.store.AddSuspension(ctx, user, room.String()); err != nil {
				return transientError{err}
			}
		}
		st.Status, st.Suspended = string(v.Status), true
		if st.ShortSince.IsZero() {
			st.ShortSince = s.now()
		}
		if err := s.store.SaveVerificationState(ctx, st); err != nil {
			return transientError{err}
		}
	case policy.EnforceReadmit:
		taken, err := s.store.TakeSuspensions(ctx, user)
		if err != nil {
			return transientError{err}
		}
		for _, room := range taken {
			if _, err := s.bot.InviteUser(ctx, id.RoomID(room), &mautrix.ReqInviteUser{UserID: id.UserID(user), Reason: "identity verified"}); err != nil {
				if isTransient(err) {
					return err
				}
				s.log.Warn().Err(err).Str("room_id", room).Msg("Could not invite a re-verified member back")
				continue
			}
			if err := s.audit(ctx, user, id.RoomID(room), "readmit", "identity verified again; invited back", nil); err != nil {
				return err
			}
			if err := s.sendNotice(ctx, id.RoomID(room), fmt.Sprintf("%s's identity is verified again, so I have invited them back.", user)); err != nil && isTransient(err) {
				return err
			}
		}
		if err := s.store.SaveVerificationState(ctx, store.VerificationState{UserID: user}); err != nil {
			return transientError{err}
		}
	case policy.EnforceClear:
		if err := s.store.SaveVerificationState(ctx, store.VerificationState{UserID: user}); err != nil {
			return transientError{err}
		}
	}
	return nil
}

// tellRooms posts one notice about a member in each of their clinical rooms.
func (s *Service) tellRooms(ctx context.Context, rooms []id.RoomID, user, action, text, status string) error {
	for _, room := range rooms {
		if err := s.audit(ctx, user, room, action, status, nil); err != nil {
			return err
		}
		if err := s.sendNotice(ctx, room, text); err != nil && isTransient(err) {
			return err
		}
	}
	return nil
}
