package appservice

import (
	"context"
	"fmt"
	"time"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/policy"
)

// The SCIM watch's keys in the store, shared by every process behind the
// appservice URL (any of them may take a SCIM request; the leader watches).
const (
	scimLastRequestKey = "scim_last_request"
	scimSilentSinceKey = "scim_silent_alerted"
)

// scimNoteEvery spaces the writes of "a SCIM request came": a bulk
// provisioning of thousands of people writes it a few times, not thousands.
const scimNoteEvery = 5 * time.Second

// noteSCIMRequest records that the identity provider called, when the
// watch is on (directory.scim.expect_every).
func (s *Service) noteSCIMRequest(ctx context.Context) {
	if s.Cfg.Directory.SCIM.ExpectEvery.Duration == 0 {
		return
	}
	now := s.Now()
	if last := s.scimNoted.Load(); last != 0 && now.Sub(time.Unix(0, last)) < scimNoteEvery {
		return
	}
	if err := s.Store.SetKV(ctx, scimLastRequestKey, now.UTC().Format(time.RFC3339Nano)); err != nil {
		s.Log.Warn().Err(err).Msg("Could not note a SCIM request")
		return
	}
	s.scimNoted.Store(now.UnixNano())
}

// scimWatchEvery is how often the leader looks for a silent identity
// provider: a fifth of the expected interval, between 1 s and 1 min.
func (s *Service) scimWatchEvery() time.Duration {
	e := s.Cfg.Directory.SCIM.ExpectEvery.Duration
	if e == 0 || s.Cfg.Directory.SCIM.Token == "" {
		return 0
	}
	return min(max(e/5, time.Second), time.Minute)
}

// watchSCIM tells the management room once when no SCIM request has come
// for longer than directory.scim.expect_every, and once when one comes
// again. Silence changes nobody: the directory stays as last pushed.
func (s *Service) watchSCIM(ctx context.Context) {
	expect := s.Cfg.Directory.SCIM.ExpectEvery.Duration
	now := s.Now()
	last, err := s.kvTime(ctx, scimLastRequestKey)
	if err != nil {
		return
	}
	if last.IsZero() {
		// Never heard from since the watch began: the watch's start counts
		// as the last request, so turning it on does not alert at once.
		_ = s.Store.SetKV(ctx, scimLastRequestKey, now.UTC().Format(time.RFC3339Nano))
		return
	}
	alerted, err := s.kvTime(ctx, scimSilentSinceKey)
	if err != nil {
		return
	}
	silent := now.Sub(last) > expect
	switch {
	case silent && alerted.IsZero():
		s.metrics.SCIMSilent.Set(1)
		// Told first, then marked: a notice that fails is tried again at
		// the next look, under the same name, so it is never sent twice.
		if !s.scimNotice(ctx, "scim-silent:"+last.UTC().Format(time.RFC3339Nano), fmt.Sprintf(
			"The identity provider has sent no SCIM request since %s (more than directory.scim.expect_every, %s). Nobody is added or removed because of the silence: the staff directory stays as it was last pushed, and leavers the identity provider has not sent are not removed. Check the provisioning app (Entra ID: its provisioning logs, or whether it is quarantined; Okta: the app's provisioning tab) and its token.",
			last.UTC().Format("2 Jan 2006 15:04 MST"), expect)) {
			return
		}
		_ = s.Store.SetKV(ctx, scimSilentSinceKey, last.UTC().Format(time.RFC3339Nano))
	case !silent && !alerted.IsZero():
		s.metrics.SCIMSilent.Set(0)
		if !s.scimNotice(ctx, "scim-back:"+alerted.UTC().Format(time.RFC3339Nano), fmt.Sprintf(
			"The identity provider is sending SCIM requests again (silent from %s to %s). What it sends now is applied as usual.",
			alerted.UTC().Format("2 Jan 2006 15:04 MST"), last.UTC().Format("2 Jan 2006 15:04 MST"))) {
			return
		}
		_ = s.Store.SetKV(ctx, scimSilentSinceKey, "")
	case silent:
		s.metrics.SCIMSilent.Set(1) // alerted by this or another leader
	default:
		s.metrics.SCIMSilent.Set(0)
	}
}

// scimNotice tells the management room, named by input so a retry (or a
// new leader's) never tells twice; false when it could not.
func (s *Service) scimNotice(ctx context.Context, input, text string) bool {
	ictx := executor.WithInput(ctx, input)
	if _, err := s.Exec.Execute(ictx, "", s.BotID.String(), policy.ManagementNotice(policy.GateDirectoryMissing, text, "SCIM watch")); err != nil {
		s.Log.Warn().Err(err).Msg("Could not tell the management room about the SCIM client")
		return false
	}
	return true
}

// kvTime reads a time kept in the store's KV; zero when absent or empty.
func (s *Service) kvTime(ctx context.Context, key string) (time.Time, error) {
	raw, ok, err := s.Store.KV(ctx, key)
	if err != nil || !ok || raw == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", key, err)
	}
	return t, nil
}
