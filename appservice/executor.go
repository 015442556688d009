package appservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// execute carries out a decision about roomID, auditing every action as
// done, would-do (dry run) or failed. A transient failure (homeserver
// unreachable) is returned so the whole input is retried later; a permanent
// one (e.g. refused for lack of power) is audited and reported in failures.
func (s *Service) execute(ctx context.Context, roomID id.RoomID, actor string, d policy.Decision) (failures []string, err error) {
	for _, a := range d.Actions {
		detail := map[string]any{"rule": a.Rule}
		switch a.Kind {
		case policy.SetState:
			detail["event_type"], detail["content"] = a.EventType, a.Content
		case policy.Kick:
			detail["user_id"] = a.UserID
		}
		if s.cfg.Policy.DryRun {
			s.log.Info().Stringer("room_id", roomID).Str("action", string(a.Kind)).Str("rule", a.Rule).Msg("Dry run: would act")
			if err := s.audit(ctx, actor, roomID, "dry_run."+string(a.Kind), a.Reason, detail); err != nil {
				return failures, err
			}
			continue
		}
		actErr := s.perform(ctx, roomID, a)
		if actErr != nil && isTransient(actErr) {
			s.metrics.Actions.WithLabelValues(string(a.Kind), "retry").Inc()
			return failures, actErr
		}
		action, reason := string(a.Kind), a.Reason
		if actErr != nil {
			s.metrics.Actions.WithLabelValues(string(a.Kind), "failed").Inc()
			s.log.Warn().Err(actErr).Stringer("room_id", roomID).Str("action", action).Str("rule", a.Rule).Msg("Action failed")
			action, reason = "failed."+action, fmt.Sprintf("%s; failed: %v", a.Reason, actErr)
			failures = append(failures, fmt.Sprintf("I could not %s: %s", a.Text, matrixReason(actErr)))
		} else {
			s.metrics.Actions.WithLabelValues(string(a.Kind), "done").Inc()
			s.log.Info().Stringer("room_id", roomID).Str("action", action).Str("rule", a.Rule).Msg("Action done")
		}
		if err := s.audit(ctx, actor, roomID, action, reason, detail); err != nil {
			return failures, err
		}
	}
	return failures, nil
}

func (s *Service) perform(ctx context.Context, roomID id.RoomID, a policy.Action) error {
	switch a.Kind {
	case policy.SetState:
		t := event.Type{Type: a.EventType, Class: event.StateEventType}
		if _, err := s.bot.SendStateEvent(ctx, roomID, t, a.StateKey, a.Content); err != nil {
			return fmt.Errorf("set %s in %s: %w", a.EventType, roomID, err)
		}
	case policy.Kick:
		if _, err := s.bot.KickUser(ctx, roomID, &mautrix.ReqKickUser{UserID: id.UserID(a.UserID), Reason: a.Text}); err != nil {
			return fmt.Errorf("remove %s from %s: %w", a.UserID, roomID, err)
		}
	case policy.NotifyRoom:
		return s.sendNotice(ctx, roomID, a.Text)
	case policy.NotifyManagement:
		mgmt := s.ManagementRoom()
		if mgmt == "" {
			s.log.Warn().Stringer("room_id", roomID).Msg("No management room configured; report only logged")
			return nil
		}
		return s.sendNotice(ctx, mgmt, a.Text)
	default:
		return fmt.Errorf("unknown action kind %q", a.Kind)
	}
	return nil
}

// audit appends to the audit log. A failure is returned as transient: the
// input is retried when the database is back, so no action goes unrecorded.
func (s *Service) audit(ctx context.Context, actor string, roomID id.RoomID, action, reason string, detail map[string]any) error {
	raw := []byte("{}")
	if detail != nil {
		var err error
		if raw, err = json.Marshal(detail); err != nil {
			return fmt.Errorf("encode audit detail: %w", err)
		}
	}
	if _, err := s.store.AppendAudit(ctx, store.AuditEntry{Actor: actor, RoomID: roomID.String(), Action: action, Reason: reason, Detail: string(raw)}); err != nil {
		return transientError{fmt.Errorf("write audit log: %w", err)}
	}
	return nil
}

// transientError marks an error worth retrying.
type transientError struct{ error }

func (e transientError) Unwrap() error { return e.error }

// isTransient is true for errors that may go away: the homeserver or the
// database unreachable, overloaded or timing out.
func isTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var te transientError
	if errors.As(err, &te) {
		return true
	}
	var httpErr mautrix.HTTPError
	var httpErrPtr *mautrix.HTTPError
	if errors.As(err, &httpErrPtr) && httpErrPtr != nil {
		httpErr, err = *httpErrPtr, httpErrPtr
	}
	if httpErr.Response != nil || errors.As(err, &httpErr) {
		if httpErr.Response == nil {
			return true // no answer at all: connection refused, reset or timed out
		}
		code := httpErr.Response.StatusCode
		return code >= 500 || code == 429
	}
	var opErr *net.OpError
	var urlErr *url.Error
	return errors.As(err, &opErr) || errors.As(err, &urlErr) || errors.Is(err, context.DeadlineExceeded)
}

// matrixReason is the homeserver's own explanation, without Go wrapping.
func matrixReason(err error) string {
	var httpErr mautrix.HTTPError
	if errors.As(err, &httpErr) && httpErr.RespError != nil {
		return httpErr.RespError.Err
	}
	return err.Error()
}
