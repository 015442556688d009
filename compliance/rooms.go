package compliance

import (
	"context"
	"sort"
	"time"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// RoomSummary is one room as the rooms list shows it.
type RoomSummary struct {
	RoomID    string `json:"room_id"`
	Class     string `json:"class"`
	Compliant bool   `json:"compliant"`
	// Problems are why it is not compliant, as the hardening rules recorded them.
	Problems     []string  `json:"problems"`
	ClassifiedBy string    `json:"classified_by,omitempty"`
	CheckedAt    time.Time `json:"checked_at"`
	// MembersKnown is false when the room's members were never recorded.
	MembersKnown bool     `json:"members_known"`
	Coverage     Coverage `json:"verification"`
	LegalHold    bool     `json:"legal_hold"`
	ReviewDue    bool     `json:"review_due"`
	// LastSwept is the retention sweep's last full pass (zero: none yet).
	LastSwept    time.Time `json:"last_swept,omitzero"`
	SweepFailing bool      `json:"sweep_failing"`
}

// Clinical says whether the room is clinical.
func (r RoomSummary) Clinical() bool { return r.Class == string(policy.Clinical) }

// Coverage counts members by standing.
type Coverage struct {
	Members      int `json:"members"`
	Verified     int `json:"verified"`
	NotConfirmed int `json:"not_confirmed"`
	Unverified   int `json:"unverified"`
	Suspended    int `json:"suspended"`
}

func (c *Coverage) add(s Standing) {
	c.Members++
	switch s {
	case Verified:
		c.Verified++
	case NotConfirmed:
		c.NotConfirmed++
	case Unverified:
		c.Unverified++
	case Suspended:
		c.Suspended++
	}
}

// Percent is the share verified, rounded down (100 for no members).
func (c Coverage) Percent() int {
	if c.Members == 0 {
		return 100
	}
	return c.Verified * 100 / c.Members
}

// roomFacts is everything the room list needs, read once.
type roomFacts struct {
	policies []store.RoomPolicy
	// members are each room's user IDs, sorted; names their display
	// names, read only for a single room's view.
	members map[string][]string
	names   map[string]string
	people  people
	holds   map[string]store.LegalHold
	reviews map[string]store.Review
	sweeps  map[string]store.SweepState
	// The same, as read (for the overview's retention).
	sweepList []store.SweepState
	holdList  []store.LegalHold
}

// readRooms reads every room's facts, with everyone's (everyone: the
// people list) or only the rooms' members' (the overview, the rooms list).
func (m *Model) readRooms(ctx context.Context, everyone bool) (roomFacts, error) {
	var f roomFacts
	var reviews []store.Review
	readPeople := m.readMembersPeople
	if everyone {
		readPeople = m.readPeople
	}
	err := all(
		func() (err error) { f.policies, err = m.st.RoomPolicies(ctx); return err },
		func() (err error) { f.members, err = m.st.AllRoomMemberIDs(ctx); return err },
		func() (err error) { f.people, err = readPeople(ctx); return err },
		func() (err error) { f.holdList, err = m.st.LegalHolds(ctx); return err },
		func() (err error) { f.sweepList, err = m.st.SweepStates(ctx); return err },
		func() (err error) { reviews, err = m.st.ActiveReviews(ctx, m.Now()); return err },
	)
	if err != nil {
		return f, err
	}
	f.holds = map[string]store.LegalHold{}
	for _, h := range f.holdList {
		f.holds[h.RoomID] = h
	}
	f.sweeps = map[string]store.SweepState{}
	for _, st := range f.sweepList {
		f.sweeps[st.RoomID] = st
	}
	f.reviews = map[string]store.Review{}
	for _, r := range reviews {
		f.reviews[r.RoomID] = r
	}
	return f, nil
}

// summary is one room's line; members are judged only in clinical rooms,
// the only rooms where verification is enforced.
func (m *Model) summary(f roomFacts, p store.RoomPolicy) RoomSummary {
	s := RoomSummary{RoomID: p.RoomID, Class: p.Class, Compliant: p.Compliant, Problems: cleanAll(p.Problems),
		ClassifiedBy: p.ClassifiedBy, CheckedAt: p.UpdatedAt.UTC()}
	members, known := f.members[p.RoomID]
	s.MembersKnown = known
	if s.Clinical() {
		for _, uid := range members {
			if !m.isBot(uid) {
				s.Coverage.add(m.member(f.people, uid, f.names[uid]).Standing)
			}
		}
	} else {
		s.Coverage.Members = len(members)
	}
	_, s.LegalHold = f.holds[p.RoomID]
	_, s.ReviewDue = f.reviews[p.RoomID]
	if st, ok := f.sweeps[p.RoomID]; ok {
		s.LastSwept, s.SweepFailing = st.LastFinished.UTC(), st.Failures > 0 || st.LastError != ""
	}
	return s
}

// Rooms lists every classified room, non-compliant first, then by ID.
func (m *Model) Rooms(ctx context.Context) ([]RoomSummary, error) {
	f, err := m.readRooms(ctx, false)
	if err != nil {
		return nil, err
	}
	return m.summaries(f), nil
}

func (m *Model) summaries(f roomFacts) []RoomSummary {
	out := make([]RoomSummary, 0, len(f.policies))
	for _, p := range f.policies {
		out = append(out, m.summary(f, p))
	}
	sort.SliceStable(out, func(i, j int) bool { return !out[i].Compliant && out[j].Compliant })
	return out
}

func cleanAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = Clean(s)
	}
	return out
}
