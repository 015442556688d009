package appservice

import (
	"context"
	"fmt"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// noteLeaderRules compares the rules a live lease's holder leads by with
// this process's, on standby: while they differ it says so once in the
// log, on /ready and in caldicott_config_mismatch. A lapsed or released
// lease changes nothing: nobody leads by it now, and what was seen of its
// holder while it lived is what a takeover tells of (takeLease).
func (s *Service) noteLeaderRules(cur store.LeaseState) {
	if cur.ExpiresIn <= 0 || cur.Holder == s.leader.holder {
		return
	}
	prev := s.leader.mismatch.Load()
	if cur.Rules.Fingerprint == "" || cur.Rules == s.leader.rules {
		if prev != nil {
			s.leader.mismatch.Store(nil)
			s.metrics.ConfigMismatch.Set(0)
			s.Log.Info().Str("leader", cur.Holder).Msg("The leader's config and version now match this Caldicott's")
		}
		return
	}
	s.leader.mismatch.Store(&cur)
	s.metrics.ConfigMismatch.Set(1)
	if prev == nil || prev.Holder != cur.Holder || prev.Rules != cur.Rules {
		s.Log.Error().Str("leader", cur.Holder).
			Str("leader_config", short(cur.Rules.Fingerprint)).Str("leader_version", cur.Rules.Version).
			Str("config", short(s.leader.rules.Fingerprint)).Str("version", s.leader.rules.Version).
			Msg("This Caldicott's policy config or version differs from the leader's: it will not take over while that leader lives, and if it must (the leader gone) it leads by its own rules; run every Caldicott with the same config and version")
	}
}

// mismatchLine is /ready's line on a standby whose rules differ from the
// leader's, "" when they do not.
func (s *Service) mismatchLine() string {
	cur := s.leader.mismatch.Load()
	if cur == nil {
		return ""
	}
	return fmt.Sprintf("config mismatch: the leader %s runs config %s version %s; this Caldicott has config %s version %s\n",
		cur.Holder, short(cur.Rules.Fingerprint), cur.Rules.Version, short(s.leader.rules.Fingerprint), s.leader.rules.Version)
}

// tellRulesChanged tells the management room, once the new tenure is
// ready, that this process took over from a leader with other rules. The
// notice is named by the epoch, so a crash and replay send it once.
func (s *Service) tellRulesChanged(ctx context.Context, l store.Lease, from store.LeaseState) {
	select {
	case <-ctx.Done():
		return
	case <-s.ready:
	}
	text := fmt.Sprintf("⚠ The rules changed with a failover: I, %s, lead now (epoch %d) with config %s and version %s; the Caldicott I took over from, %s, ran config %s and version %s. Rooms and people are now judged by this Caldicott's config. Run every Caldicott with the same config and version.",
		l.Holder, l.Epoch, short(s.leader.rules.Fingerprint), s.leader.rules.Version, from.Holder, short(from.Rules.Fingerprint), from.Rules.Version)
	ictx := executor.WithInput(ctx, fmt.Sprintf("rules-changed:%d", l.Epoch))
	if err := s.NotifyManagement(ictx, policy.RuleNotice, text); err != nil {
		s.Log.Warn().Err(err).Msg("Could not tell the management room that the rules changed with the failover")
	}
}

// short is a fingerprint's first 12 hex digits, enough to tell two apart.
func short(fp string) string { return fp[:min(12, len(fp))] }
