package executor

import (
	"context"
	"encoding/json"
	"fmt"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

// createdMarker is initial state in every room the executor creates, naming
// the action that created it: a creation resumed after a crash finds the
// room it already made instead of making a second.
const createdMarker = "org.caldicott.created"

func (e *Executor) createRoom(ctx context.Context, plan *policy.NewRoomPlan, txn string, resumed bool) (id.RoomID, error) {
	if resumed {
		if room, ok := e.findCreated(ctx, txn); ok {
			return room, nil
		}
	}
	if plan == nil {
		return "", fmt.Errorf("create room: no plan")
	}
	resp, err := e.bot.CreateRoom(ctx, createRequest(*plan, txn))
	if err != nil {
		return "", fmt.Errorf("create room: %w", err)
	}
	return resp.RoomID, nil
}

func createRequest(p policy.NewRoomPlan, txn string) *mautrix.ReqCreateRoom {
	req := &mautrix.ReqCreateRoom{
		Name: p.Name, Topic: p.Topic, Preset: p.Preset, RoomAliasName: p.AliasLocalpart, IsDirect: p.Direct,
		PowerLevelOverride: &event.PowerLevelsEventContent{Users: map[id.UserID]int{}},
	}
	for _, u := range p.Invite {
		req.Invite = append(req.Invite, id.UserID(u))
	}
	for u, l := range p.PowerUsers {
		req.PowerLevelOverride.Users[id.UserID(u)] = int(l)
	}
	if p.BotOnly {
		only := policy.BotPowerLevel
		pl := req.PowerLevelOverride
		pl.EventsDefault, pl.StateDefaultPtr, pl.InvitePtr, pl.KickPtr, pl.BanPtr, pl.RedactPtr = only, &only, &only, &only, &only, &only
	}
	for _, st := range append(p.InitialState, policy.StateEvent{Type: createdMarker, Content: map[string]any{"txn_id": txn}}) {
		key := st.StateKey
		req.InitialState = append(req.InitialState, &event.Event{
			Type: event.Type{Type: st.Type, Class: event.StateEventType}, StateKey: &key, Content: event.Content{Raw: st.Content},
		})
	}
	return req
}

// findCreated looks through the bot's rooms for the one a creation with
// this transaction ID made. Only a resumed creation pays for it.
func (e *Executor) findCreated(ctx context.Context, txn string) (id.RoomID, bool) {
	rooms, err := e.bot.JoinedRooms(ctx)
	if err != nil {
		return "", false
	}
	for _, room := range rooms.JoinedRooms {
		var marker struct {
			TxnID string `json:"txn_id"`
		}
		if err := e.bot.StateEvent(ctx, room, event.Type{Type: createdMarker, Class: event.StateEventType}, "", &marker); err == nil && marker.TxnID == txn {
			return room, true
		}
	}
	return "", false
}

// directChat is the room where a NotifyUser reaches its person: the one the
// action names, the one opened before, or a new direct chat.
func (e *Executor) directChat(ctx context.Context, s actionStep) (id.RoomID, error) {
	a := s.action
	if a.Target != "" {
		return id.RoomID(a.Target), nil
	}
	key := "dm:" + a.UserID
	if room, ok, err := e.st.KV(ctx, key); err != nil {
		return "", err
	} else if ok {
		return id.RoomID(room), nil
	}
	plan := policy.DirectChatPlan(a.UserID)
	room, err := e.createRoom(ctx, &plan, s.txn+"-dm", s.resumed)
	if err != nil {
		return "", err
	}
	if err := e.st.SetKV(ctx, key, room.String()); err != nil {
		return "", err
	}
	return room, nil
}

func sameJSON(a map[string]any, b map[string]any) bool {
	ra, err1 := json.Marshal(a)
	rb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ra) == string(rb)
}
