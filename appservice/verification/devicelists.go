package verification

import (
	"context"
	"time"

	"github.com/caldicott/caldicott/appservice/worker"
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
// It long-polls while the rooms are quiet and polls every busyPollEvery
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
	since := ""
	delay := time.Second
	for ctx.Err() == nil {
		// The long poll ends well inside the HTTP client's 30 s timeout.
		timeout := pollTimeout(s.LastRoomEvent(), time.Now(), 20*time.Second)
		resp, cutShort, err := s.pollSync(ctx, timeout, func(ctx context.Context, ms int) (*mautrix.RespSync, error) {
			return s.Bot.SyncRequest(ctx, ms, since, filterID, false, event.PresenceOffline)
		})
		if cutShort {
			continue // the rooms got busy: poll instead
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.Log.Warn().Err(err).Dur("retry_in", delay).Msg("Device-list sync failed")
			if !worker.Sleep(ctx, delay) {
				return
			}
			delay = min(delay*2, worker.MaxBackoff)
			continue
		}
		delay = time.Second
		s.seeInvites(resp)
		if since != "" && s.Cfg.Verification.Mode != "off" {
			for _, u := range resp.DeviceLists.Changed {
				select {
				case s.KeysChanged <- u.String():
				case <-ctx.Done():
					return
				}
			}
		}
		since = resp.NextBatch
		if timeout == 0 && !worker.Sleep(ctx, busyPollEvery) {
			return
		}
	}
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
