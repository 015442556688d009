package appservice

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/appservice/worker"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

const (
	inboxBatch   = 100
	pollInterval = 5 * time.Second
	// shutdownGrace bounds how long one event's handling may run on after
	// Caldicott is asked to stop.
	shutdownGrace = time.Minute
	// handledRetention is how long handled events, transaction IDs, done
	// actions and directory changes are kept: far longer than any
	// homeserver retries a transaction.
	handledRetention = 7 * 24 * time.Hour
)

// workerBackoff spaces the worker's retries: a second, doubling to a
// minute. workerRetry tries a start-up step until it succeeds or
// Caldicott stops.
var (
	workerBackoff = retry.Backoff{Initial: time.Second, Max: worker.MaxBackoff}
	workerRetry   = startRetry{workerBackoff}
)

// startRetry retries a step of the start until it succeeds, logging each
// failure with the wait before the next try; it fails only when ctx ends.
type startRetry struct{ retry.Backoff }

// Do runs fn until it succeeds; logFailure hears of each failure.
func (r startRetry) Do(ctx context.Context, fn func() error, logFailure func(err error, wait time.Duration)) error {
	return retry.Policy{Backoff: r.Backoff, OnRetry: func(err error, _ int, wait time.Duration) {
		logFailure(err, wait)
	}}.Do(ctx, fn)
}

// runWorker starts Caldicott's side of the homeserver: the bot, the actions
// a crash left pending, the inbox (each room in order, rooms in parallel),
// the start-up reconciliation beside it, then the periodic jobs.
func (s *Service) runWorker(ctx context.Context) error {
	s.life = ctx
	s.retention.Life = ctx
	go s.watchHomeserver(ctx)
	replayed, err := s.prepareTenure(ctx)
	if err != nil {
		return nil // shutting down
	}
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		s.lanes.Wait()
	}()
	// Enforcement starts now, beside the start-up work, never behind it.
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.dispatchInbox(ctx)
	}()
	// Ready means enforcing: what arrives from now on is judged at once.
	// What changed while Caldicott was away is caught up behind it, the
	// riskiest rooms first (hardening.ReconcileAll), before the periodic
	// jobs start.
	s.readyOnce.Do(func() { close(s.ready) })
	s.Log.Info().Msg("Caldicott is ready: enforcing; catching up on rooms changed while away")
	caughtUp := make(chan time.Time, 1)
	if t := s.leader.tookOver.Swap(nil); t != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.tellTakeover(ctx, *t, replayed, caughtUp)
		}()
	}
	if holdCatchUp != nil {
		holdCatchUp(ctx)
	}
	s.startUp(ctx)
	if ctx.Err() != nil {
		return nil // stopped or no longer leading: the next tenure catches up
	}
	s.caughtUpOnce.Do(func() { close(s.caughtUp) })
	s.Log.Info().Msg("Caldicott has caught up: start-up reconciliation done")
	caughtUp <- s.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.records.Run(ctx) // the patient record's delivery queue
	}()
	for _, j := range s.jobs() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j.Loop(ctx, s.Log)
		}()
	}
	<-ctx.Done()
	return nil
}

// prepareTenure readies a tenure's acting: the homeserver reached, the bot
// prepared, its encryption device started, and the actions a crash left
// pending finished (how many). It fails only when ctx ends.
func (s *Service) prepareTenure(ctx context.Context) (replayed int, err error) {
	if err := s.waitForHomeserver(ctx); err != nil {
		return 0, err
	}
	err = workerRetry.Do(ctx, func() error { return s.prepareBot(ctx) }, func(err error, wait time.Duration) {
		s.Log.Error().Err(err).Dur("retry_in", wait).Msg("Could not prepare the bot")
	})
	if err != nil {
		return 0, err
	}
	// The encryption device first: a replayed notice in an encrypted room
	// (one a crashed or replaced leader left pending) goes out encrypted.
	s.verification.Invited = s.sharedInvites(ctx)
	if s.Cfg.AppService.Encryption == "enabled" {
		if err := s.verification.StartE2EE(ctx); err != nil {
			// Not fatal: everything but encrypted commands still works.
			s.Log.Error().Err(err).Msg("End-to-end encryption unavailable")
		}
	}
	// Actions decided before a crash and not finished are done first, so
	// nothing decided is lost and the inputs handled again find them done.
	err = workerRetry.Do(ctx, func() error {
		n, err := s.Exec.Replay(ctx)
		replayed = n
		if err == nil && n > 0 {
			s.Log.Info().Int("actions", n).Msg("Finished actions left pending by the last run")
		}
		return err
	}, func(err error, wait time.Duration) {
		s.Log.Error().Err(err).Dur("retry_in", wait).Msg("Could not finish pending actions")
	})
	return replayed, err
}

// holdCatchUp, set only by tests, runs between ready and the start-up
// catch-up: what a long catch-up over ten thousand rooms looks like.
var holdCatchUp func(ctx context.Context)

// startUp catches up with what happened while Caldicott was away.
func (s *Service) startUp(ctx context.Context) {
	s.keepBotQuiet(ctx)
	if err := s.verification.EnsureAttestationRoom(ctx); err != nil {
		s.Log.Error().Err(err).Msg("This trust's attestations cannot be published to the federation")
	}
	s.verification.JoinAttestationRooms(ctx)
	s.auditHead.Publish(ctx)
	s.followDirectoryFromNow(ctx)
	// The federation's list before the rooms: the gate reads its bans.
	s.federation.EnsureList(ctx)
	if err := s.membership.SyncLDAP(ctx, true); err != nil {
		s.Log.Error().Err(err).Msg("Directory sync at start-up")
	}
	s.hardening.ReconcileAll(ctx)
	s.verification.CheckAll(ctx)
	if !s.verification.HasEncryption() {
		// Without the encryption device's sync, watch device lists alone.
		go s.verification.WatchDeviceLists(ctx)
	}
}

// dispatchInbox hands stored events to their rooms' lanes as they arrive,
// and the people whose keys or directory standing changed to theirs.
func (s *Service) dispatchInbox(ctx context.Context) {
	// The cursor also hands out events committed late, behind ones with
	// later sequence numbers: with two processes storing transactions at
	// once, commit order is not sequence order.
	cursor := s.Store.NewInboxCursor()
	delay := retry.Delay{Backoff: workerBackoff}
	for ctx.Err() == nil {
		batch, err := cursor.Next(ctx, inboxBatch)
		if err != nil {
			s.Log.Error().Err(err).Dur("retry_in", delay.Next()).Msg("Could not read the inbox")
			if !delay.Wait(ctx) {
				return
			}
			continue
		}
		delay.Reset()
		for _, ev := range batch {
			s.lanes.Submit(ctx, ev.RoomID, false, func() { s.handleWithRetry(ctx, ev) })
		}
		if cursor.Behind() {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-time.After(pollInterval):
		case user := <-s.userChanged:
			// A failure is logged; the directory sweep judges them again.
			s.lanes.Submit(ctx, user, false, func() { _ = s.judgeChangedPerson(ctx, user) })
		case user := <-s.keysChanged:
			s.lanes.Submit(ctx, user, false, func() {
				if err := s.verification.CheckIdentities(ctx, user); err != nil {
					s.Log.Warn().Err(err).Msg("Could not check a member's changed keys; the periodic check will")
				}
			})
		}
	}
}

// judgeChangedPerson checks someone whose directory standing changed in
// every clinical room they are in, and withdraws a leaver's confirmation.
// It fails only when their rooms could not be checked for a reason that
// may pass (the homeserver or database unreachable), so the change is
// judged again rather than left to the next sweep.
func (s *Service) judgeChangedPerson(ctx context.Context, user string) error {
	ctx = executor.WithInput(ctx, "person:"+user+":"+s.Now().Format(time.RFC3339Nano))
	if _, err := s.membership.RemoveFromClinicalRooms(ctx, idOf(user)); err != nil {
		if retry.IsTransient(err) {
			s.Log.Warn().Err(err).Msg("Could not check a changed person's rooms; trying again shortly")
			return err
		}
		s.Log.Warn().Err(err).Msg("Could not check a changed person's rooms; the sweep will")
	}
	if err := s.verification.WithdrawIfLeft(ctx, user); err != nil {
		s.Log.Warn().Err(err).Msg("Could not withdraw a leaver's confirmation; the sweep will")
	}
	if err := s.federation.PublishStanding(ctx, user); err != nil {
		s.Log.Warn().Err(err).Msg("Could not tell the federation's list about a changed person; the next change will")
	}
	return nil
}

// personChanged queues someone whose standing changed on the federation's
// list for judging in every clinical room, in their lane.
func (s *Service) personChanged(user string) {
	go func() {
		select {
		case s.userChanged <- user:
		case <-s.life.Done():
		}
	}()
}

// handleWithRetry handles one stored event. One that fails for a
// transient reason is retried with backoff in its room's lane, so nothing
// is lost and nothing in that room is reordered; other rooms carry on.
func (s *Service) handleWithRetry(ctx context.Context, ev store.InboxEvent) {
	// The event names the input: handled again after a crash, it decides
	// the same actions with the same transaction IDs and repeats none.
	ctx = executor.WithInput(ctx, "event:"+ev.EventID)
	delay := retry.Delay{Backoff: workerBackoff, Sleep: s.sleepOrHomeserverBack}
	for {
		// An event being handled when Caldicott is asked to stop is handled
		// to the end (within a bound), so a command is not cut off half
		// done; events not yet started stay in the inbox for the next run.
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		err := s.handleStored(hctx, ev)
		cancel()
		if errors.Is(err, store.ErrNotLeader) {
			return // another leads now; the event stays in the inbox for it
		}
		if err == nil || !retry.IsTransient(err) {
			if err != nil {
				s.Log.Error().Err(err).Str("event_id", ev.EventID).Str("event_type", ev.Type).Msg("Could not handle event; skipping it")
			}
			if err := s.Store.MarkEventDone(context.WithoutCancel(ctx), ev.Seq); err != nil {
				s.Log.Error().Err(err).Msg("Could not mark event handled; it will be handled again at the next start")
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
		s.metrics.HandleRetries.Inc()
		_ = s.Store.RecordAttempt(ctx, ev.Seq)
		s.Log.Warn().Err(err).Str("event_id", ev.EventID).Dur("retry_in", delay.Next()).Msg("Homeserver or database unavailable; will retry")
		if !delay.Wait(ctx) {
			return
		}
	}
}

// wakeWorker tells the inbox dispatcher that events were stored.
func (s *Service) wakeWorker() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// keepBotQuiet makes sure nothing notifies the bot (policy.KeepBotQuiet).
func (s *Service) keepBotQuiet(ctx context.Context) {
	quiet, err := s.Facts.BotQuiet(ctx)
	if err != nil {
		s.Log.Warn().Err(err).Msg("Could not read the bot's push rules; the homeserver may keep notifications for it")
		return
	}
	ctx = executor.WithInput(ctx, "bot-quiet:"+s.Now().Format(time.RFC3339Nano))
	if _, err := s.Exec.Execute(ctx, "", s.BotID.String(), policy.KeepBotQuiet(quiet)); err != nil {
		s.Log.Warn().Err(err).Msg("Could not stop the homeserver keeping notifications for the bot")
	}
}
