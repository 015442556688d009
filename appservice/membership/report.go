package membership

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/compliance"
	"github.com/caldicott/caldicott/policy"
)

var CommandReport = commands.Def[*Membership]{
	CommandSpec: policy.CommandSpec{
		Name: "report", Usage: "!policy report", Place: policy.InManagement, Needs: policy.IGAdmin,
		Summary: "IG admins: the compliance overview — rooms, verification, reviews, deletion, records, " +
			"gatekeeper, audit log, held people and the directory.",
	},
	Doc: "The compliance page's overview in the management room: each line with what is wrong, rooms not " +
		"compliant and why, reviews waiting, people held out, and the directory's counts.",
	Run: (*Membership).cmdReport,
}

// cmdReport answers with the trust's compliance overview for the default
// period (the last 30 days).
func (s *Membership) cmdReport(ctx context.Context, c *commands.Call) error {
	p, err := compliance.ParsePeriod("", "", s.Now())
	if err != nil {
		return err
	}
	o, err := s.report.Overview(ctx, p)
	if err != nil {
		return fmt.Errorf("read the compliance overview: %w", err)
	}
	return s.Reply(ctx, c.Evt, reportText(o))
}

// reportBound is the most items a list in the report shows: Element is
// no place for a table of hundreds; the compliance page has them all.
const reportBound = 10

// reportText is the overview as a message: each line at a glance, marked,
// followed by what it is about when something needs the IG lead.
func reportText(o compliance.Overview) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Caldicott report for %s (%s to %s)\n", o.Trust, o.Period.FromDay(), o.Period.LastDay())
	for _, l := range o.Glance() {
		fmt.Fprintf(&b, "%s %s: %s\n", mark[l.State], l.Heading, l.Words)
		bullets(&b, details(o, l.Key))
	}
	if len(o.PersonHolds) > 0 {
		names := make([]string, len(o.PersonHolds))
		for i, h := range o.PersonHolds {
			names[i] = fmt.Sprintf("%s (%s, since %s)", h.UserID, h.Reason, h.Since.Format("2006-01-02"))
		}
		fmt.Fprintf(&b, "Held out of clinical rooms: %s.\n", strings.Join(names, "; "))
	}
	statuses := make([]string, 0, len(o.Directory))
	for st, n := range o.Directory {
		statuses = append(statuses, fmt.Sprintf("%d %s", n, st))
	}
	sort.Strings(statuses)
	fmt.Fprintf(&b, "Staff directory: %s.", kit.OrWord(strings.Join(statuses, ", "), "empty"))
	return b.String()
}

// mark shows a line's state where colour is not to be had.
var mark = map[compliance.State]string{compliance.StateOK: "✅", compliance.StateWatch: "⚠️", compliance.StateAct: "❌"}

// details are the items behind a line of the overview.
func details(o compliance.Overview, key string) []string {
	var out []string
	switch key {
	case "rooms":
		for _, r := range o.NonCompliant {
			out = append(out, fmt.Sprintf("%s (%s): %s", r.RoomID, r.Class, strings.Join(r.Problems, " ")))
		}
	case "verification":
		for _, m := range o.OutsideDirectory {
			where := "not in the staff directory"
			if m.Status != "" {
				where = m.Status + " in the staff directory"
			}
			out = append(out, fmt.Sprintf("%s in %s: %s", m.UserID, m.RoomID, where))
		}
	case "reviews":
		for _, r := range o.Reviews {
			out = append(out, reviewWords(r))
		}
	}
	return out
}

func reviewWords(r compliance.Review) string {
	switch {
	case r.Escalated:
		return fmt.Sprintf("%s: review open since %s, escalated", r.RoomID, r.Started.Format("2006-01-02"))
	case !r.Started.IsZero():
		return fmt.Sprintf("%s: review open since %s", r.RoomID, r.Started.Format("2006-01-02"))
	}
	return fmt.Sprintf("%s: review due since %s", r.RoomID, r.Due.Format("2006-01-02"))
}

func bullets(b *strings.Builder, items []string) {
	for _, it := range items[:min(len(items), reportBound)] {
		fmt.Fprintf(b, "  • %s\n", it)
	}
	if n := len(items) - reportBound; n > 0 {
		fmt.Fprintf(b, "  • and %d more: see the compliance page.\n", n)
	}
}
