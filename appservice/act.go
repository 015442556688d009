package appservice

import (
	"context"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/policy"
)

// execute hands a decision to the executor, the only writer, and returns
// what people must be told could not be done.
func (s *Service) execute(ctx context.Context, roomID id.RoomID, actor string, d policy.Decision) ([]string, error) {
	res, err := s.exec.Execute(ctx, roomID, actor, d)
	return res.Failures, err
}

// audit records a decision that is not itself an action.
func (s *Service) audit(ctx context.Context, actor string, roomID id.RoomID, action, reason string, detail map[string]any) error {
	return s.exec.Audit(ctx, actor, roomID, action, reason, detail)
}

// reply answers a command in its room.
func (s *Service) reply(ctx context.Context, evt *event.Event, text string) error {
	_, err := s.exec.Execute(ctx, evt.RoomID, evt.Sender.String(), policy.ReplyTo(evt.ID.String(), text))
	return err
}

// notice tells a room something, for the given rule.
func (s *Service) notice(ctx context.Context, roomID id.RoomID, rule, text string) error {
	_, err := s.exec.Execute(ctx, roomID, s.botID.String(), policy.RoomNotice(rule, text, rule))
	return err
}

// notifyManagement tells the IG team, or only logs without a management room.
func (s *Service) notifyManagement(ctx context.Context, rule, text string) error {
	_, err := s.exec.Execute(ctx, "", s.botID.String(), policy.ManagementNotice(rule, text, rule))
	return err
}

func isTransient(err error) bool    { return executor.IsTransient(err) }
func transient(err error) error     { return executor.Transient(err) }
func matrixReason(err error) string { return executor.MatrixReason(err) }
