package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/audithead"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/mxlog"
	"github.com/caldicott/caldicott/store"
)

// anchorCheck is the comparison of the database with the audit head
// published outside it.
type anchorCheck struct {
	// problems are tampering: the database does not hold what was
	// published, or a published copy was overwritten by someone else.
	problems []string
	// notes say what was compared, for the operator.
	notes []string
	// incomplete says why no published copy could be compared (the
	// homeserver unreachable, the rooms unreadable); "" when compared.
	incomplete string
}

// homeserverTimeout bounds each request of `audit verify` to the homeserver.
const homeserverTimeout = 15 * time.Second

// checkAnchor reads the published heads from the homeserver, with the
// appservice's token, and compares the database with each valid one. With
// publication off, heads published before are still compared, but not
// finding any is no failure.
func checkAnchor(ctx context.Context, cfg *config.Config, st *store.Store) (anchorCheck, error) {
	a, err := compareWithPublished(ctx, cfg, st)
	if err == nil && cfg.Audit.Every() == 0 && len(a.problems) == 0 {
		a.incomplete = ""
		a.notes = append(a.notes, "Publication of the head is off (audit.publish_interval: 0s): entries written since the last publication are checked by the database's own chain only.")
	}
	return a, err
}

func compareWithPublished(ctx context.Context, cfg *config.Config, st *store.Store) (anchorCheck, error) {
	var a anchorCheck
	cli, err := mautrix.NewClient(cfg.Homeserver.Address, id.UserID(cfg.BotUserID()), cfg.AppService.ASToken)
	if err != nil {
		return a, fmt.Errorf("homeserver client: %w", err)
	}
	mxlog.OmitBodies(cli)
	cli.DefaultHTTPRetries = 0
	cli.Client.Timeout = homeserverTimeout
	reading, err := audithead.ReadPublished(ctx, cli, cfg)
	if errors.Is(err, audithead.ErrUnreachable) {
		// The other trusts' homeservers may still answer: they hold the
		// heads whatever became of this trust's.
		a.incomplete = err.Error()
		return a, compareWithHistory(ctx, cfg, st, nil, &a)
	}
	if err != nil {
		return a, err
	}
	for _, c := range reading.Copies {
		if c.Problem != "" {
			a.problems = append(a.problems, fmt.Sprintf("the audit head in %s (%s) cannot be trusted: %s", c.Where, c.Room, c.Problem))
			continue
		}
		problem, err := audithead.Compare(ctx, st, c)
		if err != nil {
			return a, err
		}
		if problem != "" {
			a.problems = append(a.problems, problem)
			continue
		}
		a.notes = append(a.notes, fmt.Sprintf("It matches the head published in %s on %s: entry %d, signed by %s.",
			c.Where, c.Head.Time().Format("2006-01-02 15:04:05 MST"), c.Head.Seq, cfg.BotUserID()))
	}
	for _, where := range reading.NotPublished {
		a.notes = append(a.notes, fmt.Sprintf("No head has been published in %s yet.", where))
	}
	checked := len(reading.Copies)
	for _, u := range reading.Unread {
		a.notes = append(a.notes, "Could not read the head published in "+u+".")
	}
	if checked == 0 && len(reading.Unread) > 0 {
		a.incomplete = "no published head could be read: " + strings.Join(reading.Unread, "; ")
	}
	return a, compareWithHistory(ctx, cfg, st, cli, &a)
}

// compareWithHistory checks every head ever published, as this trust's
// homeserver and each witness (another trust's homeserver) serve the
// rooms' history: each must be an earlier point of today's chain. The
// current head alone cannot show a chain rewritten and re-signed by
// someone holding the bot's keys; the heads published before the rewrite,
// kept on the other trusts' homeservers, do.
func compareWithHistory(ctx context.Context, cfg *config.Config, st *store.Store, own *mautrix.Client, a *anchorCheck) error {
	pinned, pinnedBy := "", ""
	for _, w := range cfg.Audit.Witnesses {
		if w.BotKey != "" {
			pinned, pinnedBy = w.BotKey, audithead.PinnedBy(w.Homeserver)
			break
		}
	}
	var histories []audithead.History
	witnessesRead := 0
	for _, w := range cfg.Audit.Witnesses {
		cli, err := mautrix.NewClient(w.Homeserver, "", w.AccessToken)
		if err != nil {
			return fmt.Errorf("witness client: %w", err)
		}
		cli.DefaultHTTPRetries = 0
		cli.Client.Timeout = homeserverTimeout
		h, err := audithead.WitnessHistory(ctx, cli, cfg, w.BotKey)
		if errors.Is(err, audithead.ErrUnreachable) {
			a.notes = append(a.notes, fmt.Sprintf("Could not reach the witness %s: %v.", w.Homeserver, err))
			continue
		}
		if err != nil {
			return err
		}
		histories = append(histories, h)
		if len(h.Read) > 0 {
			witnessesRead++
		}
	}
	// Our own homeserver last: it is ahead of the witnesses (federation
	// takes a moment), so what they serve and it does not is missing.
	var ownHistory *audithead.History
	if own != nil {
		h, err := audithead.OwnHistory(ctx, own, cfg, pinned, pinnedBy)
		if err != nil && !errors.Is(err, audithead.ErrUnreachable) {
			return err
		}
		// Named first wherever heads are listed.
		histories = append([]audithead.History{h}, histories...)
		ownHistory = &histories[0]
	}
	var lists [][]audithead.Published
	for _, h := range histories {
		lists = append(lists, h.Heads)
		if len(h.Read) > 0 {
			a.notes = append(a.notes, fmt.Sprintf("Read the history of the published heads from %s: %s; signatures checked against %s's key %s (%s).",
				h.Server, strings.Join(h.Read, ", "), cfg.BotUserID(), h.Key, h.KeyFrom))
		}
		for _, u := range h.Unread {
			a.notes = append(a.notes, fmt.Sprintf("Could not read the history from %s: %s.", h.Server, u))
		}
	}
	merged := audithead.Merge(lists...)
	v, err := audithead.CompareHistory(ctx, st, merged)
	if err != nil {
		return err
	}
	a.problems = append(a.problems, v.Problems()...)
	if ownHistory != nil {
		a.problems = append(a.problems, audithead.MissingFrom(merged, *ownHistory)...)
	}
	if len(v.Mismatched) == 0 && len(v.Heads) > 0 {
		first, last := v.Heads[0].Head, v.Heads[len(v.Heads)-1].Head
		a.notes = append(a.notes, fmt.Sprintf("It holds all %d head(s) ever published (entries %d to %d, %s to %s): each is an earlier point of today's chain.",
			len(v.Heads), first.Seq, last.Seq, first.Time().Format("2006-01-02 15:04:05 MST"), last.Time().Format("2006-01-02 15:04:05 MST")))
	}
	switch {
	case len(cfg.Audit.Witnesses) == 0:
		a.notes = append(a.notes, "No other trust's homeserver was read (audit.witnesses is empty, no -witness given): heads rewritten on this trust's own homeserver as well would not show.")
	case witnessesRead == 0:
		a.incomplete = strings.TrimPrefix(a.incomplete+"; no witness (another trust's homeserver) could be read", "; ")
	case own == nil:
		// Compared after all: with the copies this trust cannot rewrite.
		a.notes = append(a.notes, fmt.Sprintf("This trust's homeserver could not be read (%s): the heads were compared as the witness serves them.", a.incomplete))
		a.incomplete = ""
	}
	return nil
}
