package appservice

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/adminweb"
	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// adminActs carries out the admin surface's acts (adminweb.Actions) as the
// bot's own commands, run by the registry as if the person had typed them
// in the room: the command's rules decide, its audit entries are written
// (naming the token or the pages as "via"), and whatever reaches the
// homeserver goes through the executor. An act on someone is one the
// person it is done as could have done themselves.
type adminActs struct{ s *Service }

// actCommand is the command an act is: its name and arguments, as typed
// in the room (in the management room, the room is named, as there).
func (a adminActs) actCommand(req adminweb.ActRequest) policy.Command {
	room := id.RoomID(req.Room)
	var args []string
	switch req.Act {
	case adminweb.ActHold:
		args = []string{"on"}
	case adminweb.ActLift:
		args = []string{"off"}
	case adminweb.ActReview:
		return policy.Command{Name: "review"}
	}
	if room == a.s.ManagementRoom() {
		args = append(args, room.String())
	}
	return policy.Command{Name: "hold", Args: append(args, strings.Fields(req.Reason)...)}
}

// Act does req as req.As, or says why not. An act once begun is finished
// even if the caller hangs up: it is audited either way.
func (a adminActs) Act(ctx context.Context, req adminweb.ActRequest) (adminweb.ActResult, error) {
	s := a.s
	ctx = executor.WithVia(context.WithoutCancel(ctx), req.Via)
	room, person := id.RoomID(req.Room), id.UserID(req.As)
	if _, err := s.Store.RoomPolicy(ctx, req.Room); errors.Is(err, store.ErrNotFound) {
		return adminweb.ActResult{Outcome: adminweb.Unknown, Message: fmt.Sprintf("Caldicott has no record of %s (a room it has never classified); nothing was done.", room)}, nil
	} else if err != nil {
		return adminweb.ActResult{}, err
	}
	cmd := a.actCommand(req)
	if why, err := a.whyNot(ctx, cmd, person, room); err != nil || why != "" {
		if err != nil {
			return adminweb.ActResult{}, err
		}
		return a.refuse(ctx, req, cmd, why)
	}
	return a.run(ctx, req, cmd)
}

// whyNot is why person may not do cmd in room ("" if they may): the
// insider rule (personRefusal, roomRefusal), then the command's own rules.
func (a adminActs) whyNot(ctx context.Context, cmd policy.Command, person id.UserID, room id.RoomID) (string, error) {
	s := a.s
	if why := personRefusal(person, s.IsIGAdmin(person)); why != "" {
		return why, nil
	}
	f, err := s.Facts.Room(ctx, room)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", room, err)
	}
	if why := roomRefusal(room, f.Creator, s.Cfg.Homeserver.Domain); why != "" {
		return why, nil
	}
	ok, refusal, err := s.commands.Authorize(ctx, cmd.Name, person, room)
	if err != nil || ok {
		return "", err
	}
	return refusal + " Nothing was done.", nil
}

// personRefusal: an act is done as a person, who must be one of the
// trust's IG admins now ("" if so).
func personRefusal(person id.UserID, isIGAdmin bool) string {
	switch {
	case person == "":
		return "This was asked with a token made for no one: an act is done as a person, so only a token made for an IG admin (--for) may act. Nothing was done."
	case !isIGAdmin:
		return fmt.Sprintf("%s is not one of this trust's IG admins now, so nothing is done as them. Nothing was done.", person)
	}
	return ""
}

// roomRefusal: an IG admin's role counts only in their own trust's rooms,
// those created on its server ("" for one of them).
func roomRefusal(room id.RoomID, creator, ownServer string) string {
	if policy.OwnTrustRoom(creator, ownServer) {
		return ""
	}
	return fmt.Sprintf("%s was created by another trust (%s), not on this trust's server (%s): an IG admin acts only in their own trust's rooms. Ask that trust's IG team. Nothing was done.",
		room, kit.OrWord(serverOf(creator), "its creator is unknown"), ownServer)
}

func serverOf(user string) string {
	if _, server, ok := strings.Cut(user, ":"); ok {
		return server
	}
	return ""
}

// refuse audits a refused act, as the person it would have been done as
// (via the token or the pages), and says why.
func (a adminActs) refuse(ctx context.Context, req adminweb.ActRequest, cmd policy.Command, why string) (adminweb.ActResult, error) {
	actor := req.As
	if actor == "" {
		actor = req.Via
	}
	err := a.s.Audit(ctx, actor, id.RoomID(req.Room), "refused.admin_act", "!policy "+cmd.Name+" from the admin surface: "+why, map[string]any{"act": string(req.Act)})
	return adminweb.ActResult{Outcome: adminweb.Refused, Message: why}, err
}

// run hands the command to the registry in the room's lane (after the
// room's events before it, never beside them) and judges what it did by
// the store, before and after: what the bot said is the message.
func (a adminActs) run(ctx context.Context, req adminweb.ActRequest, cmd policy.Command) (adminweb.ActResult, error) {
	s := a.s
	var said []string
	var done bool
	var err error
	ctx = kit.WithAnswer(ctx, func(text string) { said = append(said, text) })
	ctx = executor.WithInput(ctx, fmt.Sprintf("admin:%s:%s:%s:%s", req.Via, req.Act, req.Room, s.Now().UTC().Format(time.RFC3339Nano)))
	evt := &event.Event{Sender: id.UserID(req.As), RoomID: id.RoomID(req.Room), Type: event.EventMessage, Timestamp: s.Now().UnixMilli()}
	s.lanes.SubmitAndWait(ctx, req.Room, false, func() {
		var before, after actState
		if before, err = a.state(ctx, req.Room); err != nil {
			return
		}
		if err = s.commands.Handle(ctx, evt, cmd); err != nil {
			return
		}
		if after, err = a.state(ctx, req.Room); err != nil {
			return
		}
		done = before.changedBy(after, req)
	})
	if err != nil {
		return adminweb.ActResult{}, err
	}
	res := adminweb.ActResult{Outcome: adminweb.Unchanged, Message: strings.Join(said, "\n")}
	if done {
		res.Outcome = adminweb.Done
	}
	return res, nil
}

// actState is what an act can change of a room.
type actState struct {
	hold         *store.LegalHold
	reviewOpened time.Time
}

func (a adminActs) state(ctx context.Context, room string) (actState, error) {
	var st actState
	h, err := a.s.Store.LegalHoldOf(ctx, room)
	switch {
	case err == nil:
		st.hold = &h
	case !errors.Is(err, store.ErrNotFound):
		return st, err
	}
	r, err := a.s.Store.ReviewOf(ctx, room)
	switch {
	case err == nil:
		st.reviewOpened = r.Started
	case !errors.Is(err, store.ErrNotFound):
		return st, err
	}
	return st, nil
}

// changedBy: after is what req, done, leaves of before (a hold is judged
// by after alone).
func (before actState) changedBy(after actState, req adminweb.ActRequest) bool {
	switch req.Act {
	case adminweb.ActHold:
		// Placed again as it was is placed (and audited) all the same.
		return after.hold != nil && after.hold.HeldBy == req.As && after.hold.Reason == req.Reason
	case adminweb.ActLift:
		return before.hold != nil && after.hold == nil
	case adminweb.ActReview:
		return before.reviewOpened.IsZero() && !after.reviewOpened.IsZero()
	}
	return false
}
