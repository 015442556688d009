package compliance

import "fmt"

// State is how a line of the overview reads to the IG lead: nothing to
// do, something to watch, or something to act on.
type State string

// States, best first; each is also the line's class on the page.
const (
	StateOK    State = "ok"
	StateWatch State = "warn"
	StateAct   State = "bad"
)

// Line is one line of the overview at a glance: the same words on the
// compliance page and in `!policy report`.
type Line struct {
	// Key names the line on the page (id="glance-<key>").
	Key     string `json:"key"`
	Heading string `json:"heading"`
	Words   string `json:"words"`
	State   State  `json:"state"`
}

// Glance is the overview in a few lines, in the order the page shows them.
func (o Overview) Glance() []Line {
	return []Line{o.roomsLine(), o.Verification.Line(), o.reviewsLine(), o.Retention.line(),
		o.Records.line(), o.gatekeeperLine(), o.Audit.line()}
}

func (o Overview) roomsLine() Line {
	l := Line{Key: "rooms", Heading: "Rooms", State: StateOK}
	l.Words = fmt.Sprintf("%d clinical, %d operational, %d social; ", o.Classes["clinical"], o.Classes["operational"], o.Classes["social"])
	if len(o.NonCompliant) == 0 {
		l.Words += "every classified room is compliant."
		return l
	}
	l.Words += count(len(o.NonCompliant), "room") + " NOT compliant."
	l.State = StateAct
	return l
}

// Line says the verification of clinical rooms' members. Suspended or
// unverified members (a shortfall found) are to act on; members not yet
// confirmed (no check has found a shortfall yet, or another trust vouches
// for them) are to watch: neither verified nor known to fall short.
func (c Coverage) Line() Line {
	l := Line{Key: "verification", Heading: "Verification", State: StateOK}
	l.Words = fmt.Sprintf("%d%% of %s of clinical rooms verified; %d unverified, %d suspended", c.Percent(), count(c.Members, "member"), c.Unverified, c.Suspended)
	if c.NotConfirmed > 0 {
		l.Words += fmt.Sprintf("; %d not yet confirmed (not checked yet, or vouched for only by their own trust)", c.NotConfirmed)
		l.State = StateWatch
	}
	l.Words += "."
	if c.Unverified > 0 || c.Suspended > 0 {
		l.State = StateAct
	}
	return l
}

func (o Overview) reviewsLine() Line {
	l := Line{Key: "reviews", Heading: "Membership reviews", State: StateOK, Words: "none due or open."}
	if n := len(o.Reviews); n > 0 {
		l.Words, l.State = count(n, "review")+" due or open.", StateAct
	}
	return l
}

func (r Retention) line() Line {
	l := Line{Key: "retention", Heading: "Deletion", State: StateOK}
	if r.Deleting {
		l.Words = fmt.Sprintf("running; %s failing, %d late, %d messages waiting.", count(len(r.Failing), "room"), len(r.Late), r.Backlog)
	} else {
		l.Words = "OFF; nothing is deleted."
	}
	l.Words += " " + count(len(r.Holds), "room") + " on legal hold."
	if !r.Healthy() {
		l.State = StateAct
	}
	return l
}

func (r Records) line() Line {
	l := Line{Key: "records", Heading: "Patient record", State: StateOK, Words: "not set up."}
	if r.Configured {
		l.Words = fmt.Sprintf("%d waiting, %d failed.", r.Waiting, r.Failed)
	}
	if r.Failed > 0 {
		l.State = StateAct
	}
	return l
}

func (o Overview) gatekeeperLine() Line {
	l := Line{Key: "gatekeeper", Heading: "Gatekeeper", State: StateOK}
	l.Words = fmt.Sprintf("%s; %s refused in the period.", o.Federation.GatekeeperWords(), count(o.Refusals.Count, "request"))
	if !o.Federation.Healthy() {
		l.State = StateAct
	}
	return l
}

func (a AuditCheck) line() Line {
	l := Line{Key: "audit", Heading: "Audit log", State: StateOK, Words: "intact"}
	if !a.Intact {
		l.Words, l.State = "BROKEN", StateAct
	}
	l.Words += fmt.Sprintf("; %d entries; published up to entry %d.", a.HeadSeq, a.PublishedSeq)
	return l
}
