package appservice

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
)

// The leader asks the homeserver whether it answers every hsProbeEvery;
// hsDownAfter failures in a row are an outage (one lost answer is not).
const (
	hsProbeEvery = 2 * time.Second
	hsDownAfter  = 2
)

// homeserverWatch is what the leader knows of the homeserver's
// reachability: while it does not answer, actions wait in their rooms'
// queues, and the operator hears of it from the metric, /ready and the log
// at once, and from the management room once it is back.
type homeserverWatch struct {
	mu sync.Mutex
	// downSince is the first failed probe of an outage; zero otherwise.
	downSince time.Time
	// back is closed when the homeserver answers again after an outage,
	// so what waited on it goes at once rather than at its next retry.
	back chan struct{}
}

// unreachableSince is when the current outage began, zero without one.
func (w *homeserverWatch) unreachableSince() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.downSince
}

// backSignal is closed when the current outage ends; nil (never ready)
// without one.
func (w *homeserverWatch) backSignal() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.back
}

// down starts an outage that began at since; false if one is under way.
func (w *homeserverWatch) down(since time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.downSince.IsZero() {
		return false
	}
	w.downSince, w.back = since, make(chan struct{})
	return true
}

// up ends the outage under way, if any, and says when it began.
func (w *homeserverWatch) up() (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	since := w.downSince
	if since.IsZero() {
		return since, false
	}
	close(w.back)
	w.downSince, w.back = time.Time{}, nil
	return since, true
}

// watchHomeserver probes the homeserver while this process leads. An
// outage is said once when it begins (log, caldicott_homeserver_up 0,
// /ready) and once when it ends (log, metric, a management-room notice).
func (s *Service) watchHomeserver(ctx context.Context) {
	defer s.stopWatchingHomeserver()
	failures, firstFailure := 0, time.Time{}
	for retry.Sleep(ctx, hsProbeEvery) {
		pctx, cancel := context.WithTimeout(ctx, hsProbeEvery)
		// Not Bot.Versions: it writes the client's SpecVersions, which
		// every other request may be reading.
		_, err := s.Bot.MakeRequest(pctx, http.MethodGet, s.Bot.BuildClientURL("versions"), nil, nil)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if failures++; failures == 1 {
				firstFailure = s.Now()
			}
			if failures == hsDownAfter && s.hsWatch.down(firstFailure) {
				s.metrics.HomeserverUp.Set(0)
				s.metrics.HomeserverOutages.Inc()
				s.Log.Error().Err(err).Time("since", firstFailure).Msg("The homeserver cannot be reached: actions wait in their rooms' queues, nothing is lost; the management room is told when it answers again")
			}
			continue
		}
		failures = 0
		if since, ok := s.hsWatch.up(); ok {
			s.metrics.HomeserverUp.Set(1)
			s.Log.Info().Time("since", since).Dur("down_for", s.Now().Sub(since)).Msg("The homeserver answers again; the actions that waited are being done")
			go s.afterHomeserverOutage(ctx, since, s.Now())
		}
	}
}

// stopWatchingHomeserver clears the gauge when this process stops leading:
// another process watches now, and a standby's stale 0 would never clear.
func (s *Service) stopWatchingHomeserver() {
	s.hsWatch.up()
	s.metrics.HomeserverUp.Set(1)
}

// afterHomeserverOutage tells the management room how long the homeserver
// could not be reached, then reconciles every room as at start-up: what
// waited in Caldicott's queues is being done already, but Dendrite drops
// the events it had not yet delivered when it stopped, so a change made
// just before it went is found only by reading the rooms. The notice is
// named by the outage's start, so a crash and replay, or a second try,
// sends it once.
func (s *Service) afterHomeserverOutage(ctx context.Context, since, until time.Time) {
	select {
	case <-ctx.Done():
		return
	case <-s.ready: // the management room is known; start-up reconciled
	}
	text := fmt.Sprintf("⚠ The homeserver could not be reached for %s (%s to %s UTC). Nothing was lost: what happened meanwhile is being enforced now, and every room checked. If it happens again, check the homeserver and the network between it and Caldicott.",
		until.Sub(since).Round(time.Second), since.UTC().Format("2006-01-02 15:04:05"), until.UTC().Format("15:04:05"))
	ictx := executor.WithInput(ctx, "homeserver-back:"+since.UTC().Format(time.RFC3339Nano))
	err := retry.Policy{Backoff: retry.Backoff{Initial: time.Second, Max: 10 * time.Second}, Attempts: 6, Retryable: retry.IsTransient}.Do(ctx, func() error {
		return s.NotifyManagement(ictx, policy.RuleNotice, text)
	})
	if err != nil {
		s.Log.Warn().Err(err).Msg("Could not tell the management room that the homeserver was unreachable")
	}
	// The directory's changes that waited first, in their people's lanes:
	// a reconciliation judging the same person at once, in the room's
	// lane, could remove them a second time.
	s.followDirectory(ctx)
	s.hardening.ReconcileAll(ctx)
}

// sleepOrHomeserverBack waits d, or less when the homeserver answers again
// after an outage: an event that waited on it is handled at once, not up
// to a minute later at its next retry.
func (s *Service) sleepOrHomeserverBack(ctx context.Context, d time.Duration) bool {
	back := s.hsWatch.backSignal()
	if back == nil {
		return retry.Sleep(ctx, d)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-back:
			cancel()
		case <-wctx.Done():
		}
	}()
	retry.Sleep(wctx, d)
	return ctx.Err() == nil
}

// homeserverLine is /ready's line while the homeserver cannot be reached,
// "" otherwise.
func (s *Service) homeserverLine() string {
	since := s.hsWatch.unreachableSince()
	if since.IsZero() {
		return ""
	}
	return fmt.Sprintf("homeserver unreachable since %s\n", since.UTC().Format(time.RFC3339))
}
