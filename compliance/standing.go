package compliance

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Standing is a member's verification standing as the verification rules
// last left it (policy.Verify, remembered by the store).
type Standing string

// Standings, best first.
const (
	// Verified: the trust confirmed their identity and nothing is short.
	Verified Standing = "verified"
	// NotConfirmed: no shortfall remembered, but no confirmation either
	// (not checked yet, or another trust's member that trust vouches for).
	NotConfirmed Standing = "not_confirmed"
	// Unverified: a shortfall is remembered; they are within their grace.
	Unverified Standing = "unverified"
	// Suspended: removed or muted until they verify.
	Suspended Standing = "suspended"
)

// Label is the standing in words for a page.
func (s Standing) Label() string {
	switch s {
	case Verified:
		return "verified"
	case NotConfirmed:
		return "not yet confirmed"
	case Unverified:
		return "unverified (within grace)"
	case Suspended:
		return "suspended until verified"
	}
	return string(s)
}

// Member is one member of a room (or a person) with their standing.
type Member struct {
	UserID string `json:"user_id"`
	// DisplayName is the name shown in the room, cleaned.
	DisplayName string `json:"display_name,omitempty"`
	OwnTrust    bool   `json:"own_trust"`
	// Directory is the person's status in the staff directory ("" when
	// not in it; other trusts' members are not in ours).
	Directory string   `json:"directory_status,omitempty"`
	Standing  Standing `json:"standing"`
	// Shortfall is what the verification rules found short
	// (policy.VerificationStatus), when unverified or suspended.
	Shortfall   string    `json:"shortfall,omitempty"`
	ShortSince  time.Time `json:"short_since,omitzero"`
	Attested    bool      `json:"attested"`
	AttestedBy  string    `json:"attested_by,omitempty"`
	AttestedVia string    `json:"attested_via,omitempty"`
	AttestedAt  time.Time `json:"attested_at,omitzero"`
}

// people is the trust's people as the store knows them, read once for a
// view over many rooms: for each, their remembered shortfall, whether the
// trust attested them (and, for the few a view shows in full, how), and
// their directory status.
type people struct {
	states       map[string]store.VerificationState
	attested     map[string]bool
	attestations map[string]store.Attestation
	directory    map[string]string
	// membersOnly: read for rooms' members only (readMembersPeople).
	// Then directory holds only those not active, absent the members not
	// in the directory, and unattested the members not attested.
	membersOnly bool
	absent      map[string]bool
	unattested  map[string]bool
}

func newPeople() people {
	return people{states: map[string]store.VerificationState{}, attested: map[string]bool{},
		attestations: map[string]store.Attestation{}, directory: map[string]string{}}
}

// status is a person's directory status ("" when not in it).
func (p people) status(userID string) string {
	if !p.membersOnly {
		return p.directory[userID]
	}
	if p.absent[userID] {
		return ""
	}
	if st, ok := p.directory[userID]; ok {
		return st
	}
	return string(policy.StatusActive)
}

// isAttested says whether the trust confirmed the person's identity.
func (p people) isAttested(userID string) bool {
	if p.membersOnly {
		return !p.unattested[userID]
	}
	return p.attested[userID]
}

// readPeople reads everyone: the directory, every attestation and
// shortfall (the people list, which shows them all).
func (m *Model) readPeople(ctx context.Context) (people, error) {
	p := newPeople()
	var states []store.VerificationState
	var attested []string
	err := all(
		func() (err error) { states, err = m.st.VerificationStates(ctx); return err },
		func() (err error) { attested, err = m.st.AttestedUsers(ctx); return err },
		func() (err error) { p.directory, err = m.st.StaffStatuses(ctx); return err },
	)
	p.addStates(states)
	for _, uid := range attested {
		p.attested[uid] = true
	}
	return p, err
}

// readMembersPeople reads what the views over every room need of their
// members: the exceptions only (not active, not in the directory, not
// attested, a shortfall remembered), not the whole directory and every
// attestation, most of which say the same (active, attested).
func (m *Model) readMembersPeople(ctx context.Context) (people, error) {
	p := newPeople()
	p.membersOnly = true
	var states []store.VerificationState
	var absent, unattested []string
	err := all(
		func() (err error) { states, err = m.st.VerificationStates(ctx); return err },
		func() (err error) { unattested, err = m.st.RoomMembersNotAttested(ctx); return err },
		func() (err error) { absent, err = m.st.RoomMembersNotInStaff(ctx); return err },
		func() (err error) { p.directory, err = m.st.StaffNotActive(ctx); return err },
	)
	p.addStates(states)
	p.absent, p.unattested = setOf(absent), setOf(unattested)
	return p, err
}

func (p people) addStates(states []store.VerificationState) {
	for _, s := range states {
		p.states[s.UserID] = s
	}
}

func setOf(ids []string) map[string]bool {
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out
}

// personPeople reads one person's entries only, for the person view.
func (m *Model) personPeople(ctx context.Context, userID string) (people, error) {
	p := newPeople()
	st, err := m.st.VerificationStateOf(ctx, userID)
	if err != nil {
		return p, err
	}
	p.states[userID] = st
	if a, err := m.st.AttestationOf(ctx, userID); err == nil {
		p.attested[userID], p.attestations[userID] = true, a
	} else if !errors.Is(err, store.ErrNotFound) {
		return p, err
	}
	return p, nil
}

// member is a user's standing from what the store remembers.
func (m *Model) member(p people, userID, displayName string) Member {
	out := Member{UserID: userID, DisplayName: Clean(displayName), OwnTrust: m.ownTrust(userID), Standing: NotConfirmed}
	out.Directory = p.status(userID)
	if p.isAttested(userID) {
		out.Attested = true
		if a, ok := p.attestations[userID]; ok {
			out.AttestedBy, out.AttestedVia, out.AttestedAt = a.AttestedBy, a.Method, a.At.UTC()
		}
		out.Standing = Verified
	}
	if st, ok := p.states[userID]; ok && (st.Suspended || !st.ShortSince.IsZero()) {
		out.Shortfall, out.ShortSince = st.Status, st.ShortSince.UTC()
		out.Standing = Unverified
		if st.Suspended {
			out.Standing = Suspended
		}
		if policy.VerificationStatus(st.Status) == policy.Verified && !st.Suspended {
			out.Standing = Verified
		}
	}
	return out
}

func (m *Model) ownTrust(userID string) bool {
	return strings.HasSuffix(userID, ":"+m.cfg.Homeserver.Domain)
}

// isBot says whether a member is this trust's Caldicott bot, left out of
// every count of people.
func (m *Model) isBot(userID string) bool { return userID == m.cfg.BotUserID() }
