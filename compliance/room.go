package compliance

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// ErrNotFound: the room or person is not one Caldicott knows.
var ErrNotFound = errors.New("not known to Caldicott")

// RoomView is everything Caldicott knows of one room and did there.
type RoomView struct {
	RoomSummary
	// Options are the room's clinical options as Caldicott last wrote them
	// in its policy state (nil: none recorded in the audit log).
	Options   *Options   `json:"options,omitempty"`
	Members   []Member   `json:"members"`
	Review    *Review    `json:"review,omitempty"`
	Sweep     *Sweep     `json:"retention,omitempty"`
	Hold      *LegalHold `json:"legal_hold_detail,omitempty"`
	Records   Records    `json:"records"`
	Period    Period     `json:"period"`
	Activity  Log        `json:"activity"`
	Generated time.Time  `json:"generated_at"`
}

// Options are the room's options (policy.PolicyContent) without its class.
type Options struct {
	AllowedRoles []string  `json:"allowed_roles"`
	AllowedTeams []string  `json:"allowed_teams"`
	AutoApprove  string    `json:"auto_approve,omitempty"`
	Suspend      string    `json:"suspend,omitempty"`
	SetAt        time.Time `json:"set_at"`
	SetBy        string    `json:"set_by"`
}

// roomActivityBound bounds the activity a room or person view lists.
const roomActivityBound = 500

// optionsLookBack is how many of a room's latest audit entries are read
// for its policy state.
const optionsLookBack = 2000

// Room is one room's view over the period; ErrNotFound for a room never classified.
func (m *Model) Room(ctx context.Context, roomID string, p Period) (RoomView, error) {
	pol, err := m.st.RoomPolicy(ctx, roomID)
	if errors.Is(err, store.ErrNotFound) {
		return RoomView{}, ErrNotFound
	}
	if err != nil {
		return RoomView{}, err
	}
	v := RoomView{Period: p, Generated: m.Now().UTC(), Members: []Member{}}
	f := roomFacts{policies: []store.RoomPolicy{pol}, members: map[string][]string{}, names: map[string]string{},
		holds: map[string]store.LegalHold{}, reviews: map[string]store.Review{}, sweeps: map[string]store.SweepState{}}
	if err := m.readRoomParts(ctx, &v, &f, roomID); err != nil {
		return v, err
	}
	v.RoomSummary = m.summary(f, pol)
	for _, uid := range f.members[roomID] {
		if m.isBot(uid) {
			continue
		}
		if f.people.attested[uid] {
			// The bulk read knows only that they were attested: one room's
			// members are few enough to read who attested them and how.
			a, err := m.st.AttestationOf(ctx, uid)
			switch {
			case err == nil:
				f.people.attestations[uid] = a
			case errors.Is(err, store.ErrNotFound): // withdrawn since
				delete(f.people.attested, uid)
			default:
				return v, err
			}
		}
		v.Members = append(v.Members, m.member(f.people, uid, f.names[uid]))
	}
	if v.Options, err = m.roomOptions(ctx, roomID); err != nil {
		return v, err
	}
	v.Activity = newLog(roomActivityBound)
	err = m.scanPeriod(ctx, p, func(e store.AuditEntry) error {
		if e.RoomID == roomID {
			v.Activity.add(activityOf(e))
		}

		return nil
	})
	v.Activity.done()
	return v, err
}

// readRoomParts reads one room's members, people, hold, review, sweep and records.
func (m *Model) readRoomParts(ctx context.Context, v *RoomView, f *roomFacts, roomID string) error {
	members, known, err := m.st.RoomMembers(ctx, roomID)
	if err != nil {
		return err
	}
	if known {
		ids := make([]string, 0, len(members))
		for uid, name := range members {
			ids = append(ids, uid)
			f.names[uid] = name
		}
		sort.Strings(ids)
		f.members[roomID] = ids
	}
	if f.people, err = m.readPeople(ctx); err != nil {
		return err
	}
	if h, err := m.st.LegalHoldOf(ctx, roomID); err == nil {
		f.holds[roomID] = h
		lh := legalHoldOf(h)
		v.Hold = &lh
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := m.roomReview(ctx, v, f, roomID); err != nil {
		return err
	}
	st, err := m.st.SweepStateOf(ctx, roomID)
	if err != nil {
		return err
	}
	if !st.LastStarted.IsZero() {
		f.sweeps[roomID] = st
		sw := m.sweepOf(st)
		v.Sweep = &sw
	}
	v.Records, err = m.Records(ctx, roomID)
	return err
}

func (m *Model) roomReview(ctx context.Context, v *RoomView, f *roomFacts, roomID string) error {
	r, err := m.st.ReviewOf(ctx, roomID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now := m.Now()
	rv := Review{RoomID: roomID, Due: r.NextDue.UTC(), Started: r.Started.UTC(), Escalated: r.Escalated, LastConfirmed: r.LastConfirmed.UTC(),
		DaysOverdue: max(0, int(now.Sub(r.NextDue)/(24*time.Hour)))}
	v.Review = &rv
	if !r.NextDue.After(now) || !r.Started.IsZero() {
		f.reviews[roomID] = r
	}
	return nil
}

// roomOptions finds the room's policy state as Caldicott last wrote it:
// the executor's audit of a set_state keeps the event's content.
func (m *Model) roomOptions(ctx context.Context, roomID string) (*Options, error) {
	entries, err := m.st.AuditForRoom(ctx, roomID, optionsLookBack)
	if err != nil {
		return nil, err
	}
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		d := parseDetail(e.Detail)
		if e.Action != string(policy.SetState) || d.EventType != policy.PolicyEventType {
			continue
		}
		var c policy.PolicyContent
		if json.Unmarshal(d.Content, &c) != nil {
			continue
		}
		return &Options{AllowedRoles: cleanAll(c.AllowedRoles), AllowedTeams: cleanAll(c.AllowedTeams), AutoApprove: c.AutoApprove,
			Suspend: c.Suspend, SetAt: e.Time.UTC(), SetBy: e.Actor}, nil
	}
	return nil, nil
}
