package appservice

import (
	"context"
	"strconv"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/worker"
	"github.com/caldicott/caldicott/store"
)

// directoryPoll is how often the directory's change journal is read: a
// leaver marked by another process (a CSV import) is removed within it.
const directoryPoll = time.Second

// jobs is every periodic task Caldicott runs: one row each. A zero
// interval turns a job off.
func (s *Service) jobs() []worker.Job {
	return []worker.Job{
		{Name: "reconcile", Every: s.Cfg.Policy.ReconcileInterval.Duration, Run: s.hardening.ReconcileAll},
		{Name: "directory-changes", Every: directoryPoll, Run: s.followDirectory},
		{Name: "directory-sweep", Every: s.Cfg.Directory.SyncInterval.Duration, Run: s.directorySweep},
		{Name: "scim-watch", Every: s.scimWatchEvery(), Run: s.watchSCIM},
		{Name: "reviews", Every: s.Cfg.Review.CheckInterval.Duration, Run: s.membership.RunReviews},
		{Name: "verification", Every: s.Cfg.Verification.CheckInterval.Duration, Run: s.verificationCheck},
		{Name: "retention", Every: s.Cfg.Retention.SweepInterval.Duration, Run: s.sweepRetention},
		{Name: "federation-list", Every: 15 * time.Second, Run: s.federation.EnsureList},
		{Name: "prune", Every: time.Hour, Run: s.prune},
		{Name: "audit-head", Every: s.Cfg.Audit.Every(), Run: s.auditHead.Publish},
	}
}

// directorySweep reads LDAP, then checks every clinical room's members
// against the directory and withdraws leavers' confirmations.
func (s *Service) directorySweep(ctx context.Context) {
	if err := s.membership.SyncLDAP(ctx, false); err != nil {
		s.Log.Error().Err(err).Msg("Directory sync")
	}
	s.membership.SweepDirectory(ctx)
	if err := s.verification.WithdrawLeavers(ctx); err != nil {
		s.Log.Warn().Err(err).Msg("Could not withdraw leavers' confirmations")
	}
}

// sweepRetention deletes expired messages, then the bot device's keys of
// messages now deleted (verification.DiscardSpentKeys).
func (s *Service) sweepRetention(ctx context.Context) {
	s.retention.SweepAll(ctx)
	s.verification.DiscardSpentKeys(ctx)
}

func (s *Service) verificationCheck(ctx context.Context) {
	s.verification.JoinAttestationRooms(ctx)
	s.verification.CheckAll(ctx)
	s.verification.ExpireVerifications(ctx)
}

func (s *Service) prune(ctx context.Context) {
	before := s.Now().Add(-handledRetention)
	if _, err := s.Store.PruneActions(ctx, before.UnixMilli()); err != nil {
		s.Log.Warn().Err(err).Msg("Could not prune the action log")
	}
	if _, err := s.Store.PruneDirectoryChanges(ctx, before); err != nil {
		s.Log.Warn().Err(err).Msg("Could not prune the directory change journal")
	}
	if n, err := s.Store.PruneInbox(ctx, before.UnixMilli()); err != nil {
		s.Log.Warn().Err(err).Msg("Could not prune the inbox")
	} else if n > 0 {
		s.Log.Debug().Int64("rows", n).Msg("Pruned handled inbox rows")
	}
}

// directoryCursorKey keeps how far the running service has read the
// directory's change journal, so a restart resumes there.
const directoryCursorKey = "directory_journal_cursor"

// followDirectoryFromNow starts reading the journal where it stands, unless
// a cursor was kept: the start-up sweep covers what came before.
func (s *Service) followDirectoryFromNow(ctx context.Context) {
	if _, ok, err := s.Store.KV(ctx, directoryCursorKey); err != nil || ok {
		return
	}
	latest, err := s.Store.LatestDirectoryChange(ctx)
	if err != nil {
		s.Log.Warn().Err(err).Msg("Cannot read the directory's change journal")
		return
	}
	_ = s.Store.SetKV(ctx, directoryCursorKey, formatSeq(latest))
}

// followDirectory judges, at once, everyone whose directory record changed
// since the last look: a leaver marked by a CSV import in another process,
// an LDAP sync or SCIM, whatever the sweep interval.
func (s *Service) followDirectory(ctx context.Context) {
	if !s.hsWatch.unreachableSince().IsZero() {
		return // nobody can be removed now; the changes wait in the journal
	}
	raw, _, err := s.Store.KV(ctx, directoryCursorKey)
	if err != nil {
		return
	}
	cursor := parseSeq(raw)
	latest, err := s.Store.LatestDirectoryChange(ctx)
	if err != nil || latest <= cursor {
		return
	}
	for {
		changes, err := s.Store.DirectoryChangesSince(ctx, cursor, 500)
		if err == store.ErrDirectoryChangesPruned {
			s.Log.Warn().Msg("The directory's change journal was pruned past where I read; sweeping every room instead")
			_ = s.Store.SetKV(ctx, directoryCursorKey, formatSeq(latest))
			s.membership.SweepDirectory(ctx)
			return
		}
		if err != nil || len(changes) == 0 {
			return
		}
		cursor, err = s.judgeChanges(ctx, cursor, changes)
		if serr := s.Store.SetKV(ctx, directoryCursorKey, formatSeq(cursor)); serr != nil || err != nil {
			return
		}
	}
}

// judgeChanges judges each person changes name, once, and says how far
// it got: up to the first person who could not be judged for a reason
// that may pass (the homeserver down), so the next poll starts there and
// no leaver waits for the next sweep.
func (s *Service) judgeChanges(ctx context.Context, cursor int64, changes []store.DirectoryChange) (int64, error) {
	seen := map[string]bool{}
	for _, c := range changes {
		if !seen[c.UserID] {
			seen[c.UserID] = true
			user := c.UserID
			var err error
			s.lanes.SubmitAndWait(ctx, user, false, func() { err = s.judgeChangedPerson(ctx, user) })
			if err != nil {
				return cursor, err
			}
		}
		cursor = c.Seq
	}
	return cursor, nil
}

func idOf(user string) id.UserID { return id.UserID(user) }

func formatSeq(n int64) string { return strconv.FormatInt(n, 10) }

func parseSeq(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
