package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// memberWatch follows an observer's /sync, filtered to membership events
// in the rooms where samples are taken, and tells waiters when an
// invitee's membership became leave: when a member's client would see the
// invitation revoked.
type memberWatch struct {
	mu      sync.Mutex
	waiting map[string]chan revocation
	invites map[string]int64 // origin_server_ts of each watched invite
}

// revocation is one invitation seen revoked.
type revocation struct {
	seen     time.Time // the leave arrived in the observer's /sync
	inviteTS int64     // homeserver time of the invite event, ms
	leaveTS  int64     // homeserver time of the leave event, ms
	by       id.UserID // who removed the invitee
}

func watchKey(room id.RoomID, user id.UserID) string { return room.String() + "|" + user.String() }

// watchMembers starts following cli's /sync for membership events in rooms.
func watchMembers(t *testing.T, cli *mautrix.Client, rooms []id.RoomID) *memberWatch {
	t.Helper()
	none := &mautrix.FilterPart{NotTypes: []event.Type{{Type: "*"}}}
	filter, err := cli.CreateFilter(ctx, &mautrix.Filter{
		Presence: none, AccountData: none,
		Room: &mautrix.RoomFilter{
			Rooms: rooms, State: none, Ephemeral: none, AccountData: none,
			Timeline: &mautrix.FilterPart{Types: []event.Type{event.StateMember}, Limit: 100},
		},
	})
	if err != nil {
		t.Fatalf("create sync filter: %v", err)
	}
	first, err := cli.FullSyncRequest(ctx, mautrix.ReqSync{FilterID: filter.FilterID, SetPresence: event.PresenceOffline})
	if err != nil {
		t.Fatalf("initial sync of %s: %v", cli.UserID, err)
	}
	w := &memberWatch{waiting: map[string]chan revocation{}, invites: map[string]int64{}}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		since := first.NextBatch
		for runCtx.Err() == nil {
			resp, err := cli.FullSyncRequest(runCtx, mautrix.ReqSync{Timeout: 30000, Since: since, FilterID: filter.FilterID, SetPresence: event.PresenceOffline})
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			now := time.Now()
			since = resp.NextBatch
			for roomID, room := range resp.Rooms.Join {
				for _, evt := range room.Timeline.Events {
					w.note(roomID, evt, now)
				}
			}
		}
	}()
	return w
}

func (w *memberWatch) note(room id.RoomID, evt *event.Event, seen time.Time) {
	if evt.Type != event.StateMember || evt.StateKey == nil {
		return
	}
	var content struct {
		Membership string `json:"membership"`
	}
	_ = json.Unmarshal(evt.Content.VeryRaw, &content)
	key := watchKey(room, id.UserID(*evt.StateKey))
	w.mu.Lock()
	defer w.mu.Unlock()
	switch content.Membership {
	case "invite":
		w.invites[key] = evt.Timestamp
	case "leave":
		if ch, ok := w.waiting[key]; ok {
			delete(w.waiting, key)
			ch <- revocation{seen: seen, inviteTS: w.invites[key], leaveTS: evt.Timestamp, by: evt.Sender}
		}
	}
}

// latencySample is one invitation of someone not in the staff directory
// and its revocation.
type latencySample struct {
	Enforcer string    `json:"enforcer"` // caldicott or bare
	Room     id.RoomID `json:"room"`
	Phase    string    `json:"phase"`   // idle or reconciling (as planned)
	Invited  time.Time `json:"invited"` // the invite call returned
	Revoked  time.Time `json:"revoked"` // the leave reached the observer's /sync
	ClientMS float64   `json:"client_ms"`
	// ServerMS is the homeserver's own time from the invite event to the
	// leave event (origin_server_ts), with no client in the way; -1 when
	// the invite event was not seen.
	ServerMS float64 `json:"server_ms"`
	// DuringReconciliation: the invitation was made while one ran.
	DuringReconciliation bool `json:"during_reconciliation"`
	// QueuedBehindReconciliation: the room's own reconciliation step came
	// between the invitation and its revocation (a diagnostic, from the
	// debug log of Caldicott's requests to Dendrite).
	QueuedBehindReconciliation bool `json:"queued_behind_reconciliation"`
	// ForeignPct: how much of the machine processes outside this test used
	// during the sample.
	ForeignPct float64 `json:"foreign_pct"`
	// DendriteCPUMS: the CPU time Dendrite used during the sample.
	DendriteCPUMS float64 `json:"dendrite_cpu_ms"`
}

// revokeLatency has admin invite user into room and waits until the
// invitation is revoked by enforcer.
func (w *memberWatch) revokeLatency(admin *mautrix.Client, room id.RoomID, user, enforcer id.UserID) (latencySample, error) {
	key := watchKey(room, user)
	ch := make(chan revocation, 1)
	w.mu.Lock()
	w.waiting[key] = ch
	w.mu.Unlock()
	if _, err := admin.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: user}); err != nil {
		return latencySample{}, fmt.Errorf("invite %s to %s: %w", user, room, err)
	}
	invited := time.Now()
	select {
	case r := <-ch:
		if r.by != enforcer {
			return latencySample{}, fmt.Errorf("%s was removed from %s by %s, not %s", user, room, r.by, enforcer)
		}
		s := latencySample{Invited: invited, Revoked: r.seen, ClientMS: ms(r.seen.Sub(invited))}
		s.ServerMS = -1 // the invite was not seen
		if r.inviteTS > 0 {
			s.ServerMS = float64(r.leaveTS - r.inviteTS)
		}
		return s, nil
	case <-time.After(2 * time.Minute):
		return latencySample{}, fmt.Errorf("%s's invitation to %s not revoked within 2 minutes", user, room)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
