package appservice

import (
	"context"
	"errors"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/appservice/verification"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// lateCommandAge: a command read later than this after it was sent is not
// run. Its sender has moved on, and a command acting by surprise (a room
// reclassified, a person removed) is worse than one asked for again.
const lateCommandAge = 2 * time.Minute

// lateCommandWords answers a command read too late to run.
const lateCommandWords = "Your command arrived while I could not read it (its encryption key reached me late), " +
	"so I have not run it. If it is still needed, please type it again."

// awaitKey keeps an event whose room key has not reached the bot's device
// until it does; it is then handled in its room's lane, as if just
// received, or counted undecryptable once given up.
func (s *Service) awaitKey(late *verification.SessionLateError) {
	late.Await(verification.LateKey{
		OnKey: func(evt *event.Event) {
			s.metrics.LateKeysWaiting.Set(float64(late.Waiting()))
			s.lanes.Submit(s.life, evt.RoomID.String(), false, func() { s.handleLateKey(s.life, evt) })
		},
		OnGiveUp: func(reason string) {
			s.metrics.LateKeysWaiting.Set(float64(late.Waiting()))
			s.metrics.LateKeysGivenUp.WithLabelValues(reason).Inc()
			s.metrics.EventsIgnored.WithLabelValues("undecryptable").Inc()
		},
	})
	s.metrics.LateKeysWaiting.Set(float64(late.Waiting()))
}

// handleLateKey decrypts and handles an event whose key came late,
// retrying a transient failure with backoff in its lane as the inbox does.
func (s *Service) handleLateKey(ctx context.Context, evt *event.Event) {
	// The same input as its first handling, which decided nothing.
	ctx = executor.WithInput(ctx, "event:"+evt.ID.String())
	log := s.Log.With().Stringer("room_id", evt.RoomID).Stringer("event_id", evt.ID).Str("event_type", evt.Type.Type).Logger()
	ctx = log.WithContext(ctx)
	decrypted := false
	err := retry.Policy{Backoff: workerBackoff, Retryable: retry.IsTransient, OnRetry: func(err error, _ int, wait time.Duration) {
		s.metrics.HandleRetries.Inc()
		log.Warn().Err(err).Dur("retry_in", wait).Msg("Homeserver or database unavailable; will retry")
	}}.Do(ctx, func() error {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		defer cancel()
		plain, err := s.verification.Decrypt(hctx, evt)
		if err != nil {
			return err
		}
		if !decrypted {
			decrypted = true
			s.metrics.LateKeysDecrypted.Inc()
		}
		return s.handleDecrypted(hctx, plain, true)
	})
	switch {
	case err == nil || errors.Is(err, store.ErrNotLeader) || ctx.Err() != nil:
	case !decrypted:
		s.metrics.EventsIgnored.WithLabelValues("undecryptable").Inc()
		log.Debug().Err(err).Msg("Could not decrypt event after its key came")
	default:
		log.Error().Err(err).Msg("Could not handle event; skipping it")
	}
}

// handleLateMessage handles a message decrypted late, but answers rather
// than runs a command sent more than lateCommandAge ago.
func (s *Service) handleLateMessage(ctx context.Context, evt *event.Event) error {
	msg := evt.Content.AsMessage()
	if msg.MsgType != event.MsgText || s.Now().Sub(time.UnixMilli(evt.Timestamp)) <= lateCommandAge {
		return s.handleMessage(ctx, evt)
	}
	if _, ok := policy.ParseCommand(msg.Body, s.BotID.String(), s.Cfg.AppService.BotDisplayName); !ok {
		return s.handleMessage(ctx, evt)
	}
	if removed, err := s.guard.CheckMessage(ctx, evt, msg.Body+"\n"+msg.FormattedBody); removed || err != nil {
		return err
	}
	return s.Reply(ctx, evt, lateCommandWords)
}
