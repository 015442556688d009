package compliance

import (
	"context"
	"sort"
	"time"

	"github.com/caldicott/caldicott/gatekeeper"
	"github.com/caldicott/caldicott/policy"
)

// listBound bounds every list on the overview; counts are always whole.
const listBound = 50

// Overview is one trust's compliance at a glance, over a period.
type Overview struct {
	Trust       string    `json:"trust"`
	Period      Period    `json:"period"`
	GeneratedAt time.Time `json:"generated_at"`
	// Classes counts classified rooms by class.
	Classes map[string]int `json:"rooms_by_class"`
	// NonCompliant lists every room the hardening rules found wanting.
	NonCompliant []RoomSummary `json:"non_compliant"`
	// Verification is over the members of clinical rooms, each counted once.
	Verification Coverage `json:"verification"`
	// Unverified lists members of clinical rooms short of verified (suspended first), bounded.
	Unverified []Member `json:"unverified"`
	// OutsideDirectory lists own-trust members of clinical rooms whom the
	// directory does not show as active, bounded.
	OutsideDirectory []Misplaced    `json:"outside_directory"`
	Reviews          []Review       `json:"reviews"`
	Retention        Retention      `json:"retention"`
	PersonHolds      []PersonHold   `json:"person_holds"`
	Records          Records        `json:"records"`
	Refusals         Log            `json:"gatekeeper_refusals"`
	Actions          Log            `json:"bot_actions"`
	ActionsByKind    map[string]int `json:"bot_actions_by_kind"`
	Federation       Federation     `json:"federation"`
	Audit            AuditCheck     `json:"audit"`
	Directory        map[string]int `json:"directory"`
}

// Misplaced is an own-trust member of a clinical room the directory does
// not vouch for.
type Misplaced struct {
	UserID string `json:"user_id"`
	RoomID string `json:"room_id"`
	// Status is their directory status, "" when not in the directory.
	Status string `json:"directory_status"`
}

// PersonHold keeps someone out of every clinical room until released.
type PersonHold struct {
	UserID string    `json:"user_id"`
	Reason string    `json:"reason"`
	HeldBy string    `json:"held_by"`
	Since  time.Time `json:"since"`
}

// Overview builds the trust's overview over the period.
func (m *Model) Overview(ctx context.Context, p Period) (Overview, error) {
	o := Overview{Trust: m.cfg.Trust.Name, Period: p, GeneratedAt: m.Now().UTC(), Classes: map[string]int{}}
	var f roomFacts
	// The three parts fill different fields of o.
	err := all(
		func() (err error) { f, err = m.readRooms(ctx, false); return err },
		func() error { return m.statePart(ctx, &o) },
		func() error { return m.activityPart(ctx, &o, p) },
	)
	if err != nil {
		return o, err
	}
	m.roomsPart(&o, f)
	o.Retention = m.retentionOf(f.sweepList, f.holdList)
	return o, nil
}

// roomsPart fills what comes from the rooms and their members.
func (m *Model) roomsPart(o *Overview, f roomFacts) {
	o.NonCompliant = []RoomSummary{}
	seen := map[string]bool{}
	var unverified []Member
	o.OutsideDirectory = []Misplaced{}
	for _, p := range f.policies {
		o.Classes[p.Class]++
		if !p.Compliant {
			o.NonCompliant = append(o.NonCompliant, m.summary(f, p))
		}
		if p.Class != string(policy.Clinical) {
			continue
		}
		for _, uid := range f.members[p.RoomID] {
			if m.isBot(uid) {
				continue
			}
			if m.ownTrust(uid) && len(o.OutsideDirectory) < listBound {
				if st := f.people.status(uid); st != string(policy.StatusActive) {
					o.OutsideDirectory = append(o.OutsideDirectory, Misplaced{UserID: uid, RoomID: p.RoomID, Status: st})
				}
			}
			if seen[uid] {
				continue
			}
			seen[uid] = true
			mem := m.member(f.people, uid, "")
			o.Verification.add(mem.Standing)
			if mem.Standing != Verified {
				unverified = append(unverified, mem)
			}
		}
	}
	sort.SliceStable(unverified, func(i, j int) bool { return worse(unverified[i].Standing, unverified[j].Standing) })
	o.Unverified = unverified[:min(len(unverified), listBound)]
	if o.Unverified == nil {
		o.Unverified = []Member{}
	}
}

func worse(a, b Standing) bool {
	rank := map[Standing]int{Suspended: 0, Unverified: 1, NotConfirmed: 2, Verified: 3}
	return rank[a] < rank[b]
}

// statePart fills what the store holds now: reviews, people held,
// records, federation and the audit chain.
func (m *Model) statePart(ctx context.Context, o *Overview) error {
	var err error
	if o.Reviews, err = m.Reviews(ctx); err != nil {
		return err
	}
	if o.PersonHolds, err = m.PersonHolds(ctx); err != nil {
		return err
	}
	if o.Records, err = m.Records(ctx, ""); err != nil {
		return err
	}
	if o.Federation, err = m.Federation(ctx); err != nil {
		return err
	}
	// Counted by the database: the directory's people by status.
	if o.Directory, err = m.st.StaffCounts(ctx); err != nil {
		return err
	}
	o.Audit, err = m.Audit(ctx)
	return err
}

// activityPart summarises the period's audit entries: the gatekeeper's
// refusals and the actions Caldicott carried out, counted and the latest
// listed, by the database.
func (m *Model) activityPart(ctx context.Context, o *Overview, p Period) error {
	counts, err := m.st.AuditActionCounts(ctx, p.From, p.To)
	if err != nil {
		return err
	}
	o.ActionsByKind = map[string]int{}
	var kinds []string
	for action, n := range counts {
		if isBotAction(action) {
			o.ActionsByKind[action] = n
			o.Actions.Count += n
			kinds = append(kinds, action)
		}
	}
	o.Refusals.Count = counts[gatekeeper.ActionRefused]
	if o.Refusals.Latest, err = m.latest(ctx, p, []string{gatekeeper.ActionRefused}); err != nil {
		return err
	}
	sort.Strings(kinds)
	o.Actions.Latest, err = m.latest(ctx, p, kinds)
	return err
}

func (m *Model) latest(ctx context.Context, p Period, actions []string) ([]Activity, error) {
	entries, err := m.st.AuditLatest(ctx, p.From, p.To, actions, listBound)
	if err != nil {
		return nil, err
	}
	out := make([]Activity, 0, len(entries))
	for _, e := range entries {
		out = append(out, activityOf(e))
	}
	return out, nil
}

// PersonHolds lists people held out of every clinical room.
func (m *Model) PersonHolds(ctx context.Context) ([]PersonHold, error) {
	holds, err := m.st.Holds(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]PersonHold, 0, len(holds))
	for _, h := range holds {
		out = append(out, PersonHold{UserID: h.UserID, Reason: Clean(h.Reason), HeldBy: h.HeldBy, Since: h.Since.UTC()})
	}
	return out, nil
}
