package verification

import (
	"context"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
)

// syncFilter asks /sync for as little as possible: the bot only wants
// device-list changes here (room events come by appservice transactions).
var syncFilter = &mautrix.Filter{
	Room: &mautrix.RoomFilter{
		Timeline:    &mautrix.FilterPart{Limit: 1, Types: []event.Type{{Type: "org.caldicott.none"}}},
		State:       &mautrix.FilterPart{Types: []event.Type{{Type: "org.caldicott.none"}}},
		Ephemeral:   &mautrix.FilterPart{Types: []event.Type{{Type: "org.caldicott.none"}}},
		AccountData: &mautrix.FilterPart{Types: []event.Type{{Type: "org.caldicott.none"}}},
	},
	Presence:    &mautrix.FilterPart{Types: []event.Type{{Type: "org.caldicott.none"}}},
	AccountData: &mautrix.FilterPart{Types: []event.Type{{Type: "org.caldicott.none"}}},
}

// WatchDeviceLists follows the bot's /sync for device-list changes of
// users who share rooms with it (Dendrite v0.15.2 does not push them to
// appservices), so a new device or a reset identity is seen within seconds.
// It long-polls while the rooms are quiet and polls after each busyGap
// while events arrive (see activity.go). Changed users go to the worker;
// the periodic check covers any gap.
func (s *Verification) WatchDeviceLists(ctx context.Context) {
	filter, err := s.Bot.CreateFilter(ctx, syncFilter)
	filterID := ""
	if err == nil {
		filterID = filter.FilterID
	} else {
		s.Log.Warn().Err(err).Msg("Could not create a sync filter; syncing unfiltered")
	}
	// The long poll ends well inside the HTTP client's 30 s timeout.
	_ = s.followSync(ctx, "Device-list sync", 20*time.Second, "",
		func(ctx context.Context, since string, ms int) (*mautrix.RespSync, error) {
			return s.Bot.SyncRequest(ctx, ms, since, filterID, false, event.PresenceOffline)
		},
		func(resp *mautrix.RespSync, since string) error {
			s.seeInvites(resp)
			if since == "" || s.Cfg.Verification.Mode == "off" {
				return nil
			}
			for _, u := range resp.DeviceLists.Changed {
				select {
				case s.KeysChanged <- u.String():
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
}

// seeInvites passes on the invitations to the bot in a sync response.
func (s *Verification) seeInvites(resp *mautrix.RespSync) {
	if s.Invited == nil {
		return
	}
	for room, inv := range resp.Rooms.Invite {
		for _, evt := range inv.State.Events {
			if evt.Type == event.StateMember && evt.GetStateKey() == s.BotID.String() {
				s.Invited(room, evt.Sender)
			}
		}
	}
}
