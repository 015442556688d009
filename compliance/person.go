package compliance

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/caldicott/caldicott/store"
)

// PersonView is everything Caldicott knows of one person and did about them.
type PersonView struct {
	Member
	Directory *DirectoryRecord `json:"directory,omitempty"`
	Hold      *PersonHold      `json:"hold,omitempty"`
	// SuspendedFrom lists the rooms they were removed or muted from until they verify.
	SuspendedFrom []string  `json:"suspended_from"`
	Rooms         []RoomRef `json:"rooms"`
	Period        Period    `json:"period"`
	Activity      Log       `json:"activity"`
	Generated     time.Time `json:"generated_at"`
}

// DirectoryRecord is a person's entry in the staff directory.
type DirectoryRecord struct {
	Name         string `json:"name"`
	Role         string `json:"role"`
	Team         string `json:"team"`
	Registration string `json:"registration,omitempty"`
	Status       string `json:"status"`
	Source       string `json:"source"`
}

// RoomRef is a room a person is in.
type RoomRef struct {
	RoomID    string `json:"room_id"`
	Class     string `json:"class"`
	Compliant bool   `json:"compliant"`
}

// Person is one person's view over the period; ErrNotFound for someone
// Caldicott has no record of.
func (m *Model) Person(ctx context.Context, userID string, p Period) (PersonView, error) {
	ppl, err := m.personPeople(ctx, userID)
	if err != nil {
		return PersonView{}, err
	}
	r, err := m.st.Staff(ctx, userID)
	switch {
	case err == nil:
		ppl.directory[userID] = r.Status
	case !errors.Is(err, store.ErrNotFound):
		return PersonView{}, err
	}
	v := PersonView{Member: m.member(ppl, userID, ""), Period: p, Generated: m.Now().UTC(), SuspendedFrom: []string{}, Rooms: []RoomRef{}}
	if err == nil {
		v.Directory = &DirectoryRecord{Name: Clean(r.Name), Role: Clean(r.Role), Team: Clean(r.Team), Registration: Clean(r.Registration),
			Status: r.Status, Source: r.Source}
	}
	if err := m.personRooms(ctx, &v); err != nil {
		return v, err
	}
	if h, err := m.st.HoldOf(ctx, userID); err == nil {
		v.Hold = &PersonHold{UserID: userID, Reason: Clean(h.Reason), HeldBy: h.HeldBy, Since: h.Since.UTC()}
	} else if !errors.Is(err, store.ErrNotFound) {
		return v, err
	}
	if v.Directory == nil && len(v.Rooms) == 0 && v.Hold == nil && !v.Attested && v.Standing == NotConfirmed {
		return PersonView{}, ErrNotFound
	}
	v.Activity = newLog(roomActivityBound)
	quoted := `"` + userID + `"`
	err = m.scanPeriod(ctx, p, func(e store.AuditEntry) error {
		if e.Actor == userID || strings.Contains(e.Detail, quoted) || strings.Contains(e.Reason, userID) {
			v.Activity.add(activityOf(e))
		}

		return nil
	})
	v.Activity.done()
	return v, err
}

func (m *Model) personRooms(ctx context.Context, v *PersonView) error {
	rooms, err := m.st.RoomsOfMember(ctx, v.UserID)
	if err != nil {
		return err
	}
	for _, roomID := range rooms {
		ref := RoomRef{RoomID: roomID}
		switch pol, err := m.st.RoomPolicy(ctx, roomID); {
		case errors.Is(err, store.ErrNotFound):
			ref.Class = "unclassified"
		case err != nil:
			return err
		default:
			ref.Class, ref.Compliant = pol.Class, pol.Compliant
		}
		v.Rooms = append(v.Rooms, ref)
	}
	sus, err := m.st.Suspensions(ctx, v.UserID)
	if err != nil {
		return err
	}
	for _, s := range sus {
		v.SuspendedFrom = append(v.SuspendedFrom, s.RoomID)
	}
	return nil
}

// PersonSummary is one person as the people list shows them.
type PersonSummary struct {
	Member
	// ClinicalRooms counts the clinical rooms they are in.
	ClinicalRooms int  `json:"clinical_rooms"`
	Held          bool `json:"held"`
}

// People lists everyone in the staff directory or in a clinical room, by user ID.
func (m *Model) People(ctx context.Context) ([]PersonSummary, error) {
	f, err := m.readRooms(ctx, true)
	if err != nil {
		return nil, err
	}
	holds, err := m.st.Holds(ctx)
	if err != nil {
		return nil, err
	}
	held := map[string]bool{}
	for _, h := range holds {
		held[h.UserID] = true
	}
	rooms := map[string]int{}
	for uid := range f.people.directory {
		rooms[uid] += 0 // listed, in no clinical room
	}
	for _, p := range f.policies {
		if !(RoomSummary{Class: p.Class}).Clinical() {
			continue
		}
		for _, uid := range f.members[p.RoomID] {
			if !m.isBot(uid) {
				rooms[uid]++
			}
		}
	}
	out := make([]PersonSummary, 0, len(rooms))
	for uid, n := range rooms {
		out = append(out, PersonSummary{Member: m.member(f.people, uid, ""), ClinicalRooms: n, Held: held[uid]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out, nil
}
