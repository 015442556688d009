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
		a.incomplete = err.Error()
		return a, nil
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
	return a, nil
}
