package appservice

import (
	"context"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/store"
)

const (
	inboxBatch   = 100
	pollInterval = 5 * time.Second
	maxBackoff   = time.Minute
	// handledRetention is how long handled events and transaction IDs are
	// kept: far longer than any homeserver retries a transaction.
	handledRetention = 7 * 24 * time.Hour
)

// runWorker is the one loop every input goes through: stored events, the
// periodic reconciliation and start-up. Being one goroutine, two inputs
// never act on a room at the same time.
func (s *Service) runWorker(ctx context.Context) error {
	if err := s.waitForHomeserver(ctx); err != nil {
		return nil // shutting down
	}
	for delay := time.Second; ; delay = min(delay*2, maxBackoff) {
		err := s.prepareBot(ctx)
		if err == nil {
			break
		}
		s.log.Error().Err(err).Dur("retry_in", delay).Msg("Could not prepare the bot")
		if !sleep(ctx, delay) {
			return nil
		}
	}
	// Actions decided before a crash and not finished are done first, so
	// nothing decided is lost and the inputs handled again find them done.
	for delay := time.Second; ; delay = min(delay*2, maxBackoff) {
		n, err := s.exec.Replay(ctx)
		if err == nil {
			if n > 0 {
				s.log.Info().Int("actions", n).Msg("Finished actions left pending by the last run")
			}
			break
		}
		s.log.Error().Err(err).Dur("retry_in", delay).Msg("Could not finish pending actions")
		if !sleep(ctx, delay) {
			return nil
		}
	}
	if s.cfg.AppService.Encryption == "enabled" {
		if err := s.startE2EE(ctx); err != nil {
			// Not fatal: everything but encrypted commands still works.
			s.log.Error().Err(err).Msg("End-to-end encryption unavailable")
		}
	}
	if err := s.ensureAttestationRoom(ctx); err != nil {
		s.log.Error().Err(err).Msg("This trust's attestations cannot be published to the federation")
	}
	s.joinAttestationRooms(ctx)
	if err := s.syncLDAP(ctx, true); err != nil {
		s.log.Error().Err(err).Msg("Directory sync at start-up")
	}
	s.reconcileAll(ctx)
	s.checkAllVerification(ctx)
	if s.crypto == nil {
		// Without the encryption device's sync, watch device lists alone.
		go s.watchDeviceLists(ctx)
	}
	close(s.ready)
	s.log.Info().Msg("Caldicott is ready")

	reconcileEvery := s.cfg.Policy.ReconcileInterval.Duration
	var reconcileTick <-chan time.Time
	if reconcileEvery > 0 {
		t := time.NewTicker(reconcileEvery)
		defer t.Stop()
		reconcileTick = t.C
	}
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	sweep := time.NewTicker(s.cfg.Directory.SyncInterval.Duration)
	defer sweep.Stop()
	reviews := time.NewTicker(s.cfg.Review.CheckInterval.Duration)
	defer reviews.Stop()
	verification := time.NewTicker(s.cfg.Verification.CheckInterval.Duration)
	defer verification.Stop()
	for {
		s.drainInbox(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-time.After(pollInterval):
		case <-reconcileTick:
			s.reconcileAll(ctx)
		case user := <-s.userChanged:
			if _, err := s.removeFromClinicalRooms(ctx, id.UserID(user)); err != nil {
				s.log.Warn().Err(err).Msg("Could not check a changed person's rooms; the sweep will")
			}
			if err := s.withdrawIfLeft(ctx, user); err != nil {
				s.log.Warn().Err(err).Msg("Could not withdraw a leaver's confirmation; the sweep will")
			}
		case user := <-s.keysChanged:
			if err := s.enforceVerificationOf(ctx, user); err != nil {
				s.log.Warn().Err(err).Msg("Could not check a member's changed keys; the periodic check will")
			}
		case <-verification.C:
			s.joinAttestationRooms(ctx)
			s.checkAllVerification(ctx)
			s.expireVerifications(ctx)
		case <-reviews.C:
			s.runReviews(ctx)
		case <-sweep.C:
			if err := s.syncLDAP(ctx, false); err != nil {
				s.log.Error().Err(err).Msg("Directory sync")
			}
			s.sweepDirectory(ctx)
			if err := s.withdrawLeavers(ctx); err != nil {
				s.log.Warn().Err(err).Msg("Could not withdraw leavers' confirmations")
			}
		case <-prune.C:
			if _, err := s.store.PruneActions(ctx, s.now().Add(-handledRetention).UnixMilli()); err != nil {
				s.log.Warn().Err(err).Msg("Could not prune the action log")
			}
			if n, err := s.store.PruneInbox(ctx, s.now().Add(-handledRetention).UnixMilli()); err != nil {
				s.log.Warn().Err(err).Msg("Could not prune the inbox")
			} else if n > 0 {
				s.log.Debug().Int64("rows", n).Msg("Pruned handled inbox rows")
			}
		}
	}
}

// drainInbox handles stored events in order. An event whose handling fails
// for a transient reason stays at the head of the queue and is retried with
// backoff, so nothing is lost and nothing is reordered.
func (s *Service) drainInbox(ctx context.Context) {
	delay := time.Second
	for ctx.Err() == nil {
		batch, err := s.store.PendingEvents(ctx, inboxBatch)
		if err != nil {
			s.log.Error().Err(err).Dur("retry_in", delay).Msg("Could not read the inbox")
			if !sleep(ctx, delay) {
				return
			}
			delay = min(delay*2, maxBackoff)
			continue
		}
		if len(batch) == 0 {
			return
		}
		for _, ev := range batch {
			if !s.handleWithRetry(ctx, ev) {
				return
			}
		}
	}
}

func (s *Service) handleWithRetry(ctx context.Context, ev store.InboxEvent) bool {
	// The event names the input: handled again after a crash, it decides
	// the same actions with the same transaction IDs and repeats none.
	ctx = executor.WithInput(ctx, "event:"+ev.EventID)
	delay := time.Second
	for {
		err := s.handleStored(ctx, ev)
		if err == nil || !isTransient(err) {
			if err != nil {
				s.log.Error().Err(err).Str("event_id", ev.EventID).Str("event_type", ev.Type).Msg("Could not handle event; skipping it")
			}
			if err := s.store.MarkEventDone(ctx, ev.Seq); err != nil {
				s.log.Error().Err(err).Msg("Could not mark event handled; it will be handled again")
				return false
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		s.metrics.HandleRetries.Inc()
		_ = s.store.RecordAttempt(ctx, ev.Seq)
		s.log.Warn().Err(err).Str("event_id", ev.EventID).Dur("retry_in", delay).Msg("Homeserver or database unavailable; will retry")
		if !sleep(ctx, delay) {
			return false
		}
		delay = min(delay*2, maxBackoff)
	}
}

// sleep waits d or until ctx ends; it reports whether to carry on.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
