package policy

import (
	"fmt"
	"strings"
)

// CauseKind says why a room is being checked, which shapes what people are told.
type CauseKind string

// Why a clinical room is checked.
const (
	// CauseDrift: someone changed a protected setting.
	CauseDrift CauseKind = "drift"
	// CauseClassified: the room was just classified clinical.
	CauseClassified CauseKind = "classified"
	// CauseReconcile: the periodic or start-up check of every room.
	CauseReconcile CauseKind = "reconcile"
	// CauseTrusts: the federation's member trusts changed, so the server
	// ACL follows; the admins decided it, and the ACL change itself shows
	// in the room's timeline, so nobody is told "set back".
	CauseTrusts CauseKind = "trusts"
)

// Cause is the event that led to a check.
type Cause struct {
	Kind CauseKind
	// Sender is who made the change or asked for the classification.
	Sender string
	// EventType is the state event that changed, for drift.
	EventType string
}

// Protect decides, for a clinical room, the fixes to apply and the notices
// to post: in the room when something was set back or cannot be, and in the
// management room when the room cannot be repaired.
func Protect(f RoomFacts, r Requirements, c Cause) Decision {
	d := Harden(f, r)
	if f.Class != Clinical {
		return d
	}
	fixes := d.Fixes()
	if len(fixes) > 0 && c.Kind == CauseTrusts {
		for i := range d.Actions {
			d.Actions[i].Reason = "the federation's member trusts changed: " + d.Actions[i].Reason
		}
	} else if len(fixes) > 0 {
		lines := make([]string, len(fixes))
		for i, a := range fixes {
			lines[i] = "• " + a.Text
		}
		var lead string
		switch c.Kind {
		case CauseDrift:
			lead = fmt.Sprintf("%s changed a protected setting of this clinical room. Clinical rooms must keep these settings, so I have set them back:", c.Sender)
		case CauseClassified:
			lead = "This room is now clinical. I have applied the protections clinical rooms need:"
		default:
			lead = "Some protections of this clinical room had changed while I was not watching. I have set them back:"
		}
		d.Actions = append(d.Actions, Action{
			Kind: NotifyRoom, Rule: RuleNotice, Text: lead + "\n" + strings.Join(lines, "\n"),
			Reason: reasonFor(c, "protections restored"),
		})
		for i := range d.Actions {
			if d.Actions[i].Kind == SetState && c.Kind == CauseDrift {
				d.Actions[i].Reason = fmt.Sprintf("%s (changed by %s)", d.Actions[i].Reason, c.Sender)
			}
		}
	}
	if len(d.Problems) > 0 {
		lines := make([]string, len(d.Problems))
		for i, p := range d.Problems {
			lines[i] = "• " + p.Text
		}
		body := strings.Join(lines, "\n")
		lead := "This clinical room is NOT compliant and I cannot repair it myself:"
		if c.Kind == CauseDrift {
			lead = fmt.Sprintf("After a change by %s, this clinical room is NOT compliant and I cannot repair it myself:", c.Sender)
		}
		d.Actions = append(d.Actions,
			Action{Kind: NotifyRoom, Rule: RuleNotice, Text: lead + "\n" + body + "\nDo not share patient information here until this is fixed.", Reason: reasonFor(c, "room cannot be repaired")},
			Action{Kind: NotifyManagement, Rule: RuleReport, Text: fmt.Sprintf("Clinical room %s is not compliant and I cannot repair it (%s):\n%s", f.RoomID, describeCause(c), body), Reason: reasonFor(c, "room cannot be repaired")},
		)
	}
	return d
}

func reasonFor(c Cause, what string) string {
	return what + " after " + describeCause(c)
}

func describeCause(c Cause) string {
	switch c.Kind {
	case CauseDrift:
		return fmt.Sprintf("a change to %s by %s", c.EventType, c.Sender)
	case CauseClassified:
		return fmt.Sprintf("classification by %s", c.Sender)
	default:
		return "a routine check"
	}
}
