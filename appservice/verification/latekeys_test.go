package verification

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// lateLog records what a waiting event was told.
type lateLog struct {
	keyed  []id.EventID
	gaveUp map[id.EventID]string
}

func (r *lateLog) tell(evtID id.EventID) LateKey {
	return LateKey{
		OnKey: func(evt *event.Event) { r.keyed = append(r.keyed, evt.ID) },
		OnGiveUp: func(reason string) {
			if r.gaveUp == nil {
				r.gaveUp = map[id.EventID]string{}
			}
			r.gaveUp[evtID] = reason
		},
	}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func lateEvt(n string) *event.Event { return &event.Event{ID: id.EventID("$" + n)} }

func TestLateKeysTakeByRoomAndSession(t *testing.T) {
	clock := &fakeClock{time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	set := newLateKeys(clock.now, 10, time.Hour)
	var log lateLog
	add := func(room id.RoomID, session id.SessionID, n string) {
		set.add(room, session, lateEvt(n), log.tell(id.EventID("$"+n)))
	}
	add("!a", "s1", "1")
	add("!b", "s1", "2") // same session ID, other room: not the same key
	add("!a", "s2", "3")
	add("!a", "s1", "4")
	tests := []struct {
		room    id.RoomID
		session id.SessionID
		want    []id.EventID
	}{
		{"!a", "s1", []id.EventID{"$1", "$4"}},
		{"!a", "s1", []id.EventID{}}, // each is handed back once
		{"!b", "s1", []id.EventID{"$2"}},
		{"!c", "s3", []id.EventID{}},
	}
	for _, tt := range tests {
		got := []id.EventID{}
		for _, e := range set.take(tt.room, tt.session) {
			got = append(got, e.evt.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("take(%s, %s) = %v, want %v", tt.room, tt.session, got, tt.want)
		}
	}
	if n := set.waiting(); n != 1 {
		t.Errorf("waiting = %d, want 1 ($3)", n)
	}
	if len(log.gaveUp) != 0 || len(log.keyed) != 0 {
		t.Errorf("take told handlers %v %v; it should only return", log.keyed, log.gaveUp)
	}
}

func TestLateKeysBoundedOldestFirst(t *testing.T) {
	clock := &fakeClock{time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	set := newLateKeys(clock.now, 3, time.Hour)
	var log lateLog
	for _, n := range []string{"1", "2", "3", "4", "5"} {
		set.add("!a", id.SessionID("s"+n), lateEvt(n), log.tell(id.EventID("$"+n)))
		clock.t = clock.t.Add(time.Second)
	}
	if n := set.waiting(); n != 3 {
		t.Fatalf("waiting = %d, want the bound 3", n)
	}
	want := map[id.EventID]string{"$1": GiveUpFull, "$2": GiveUpFull}
	if !maps.Equal(log.gaveUp, want) {
		t.Errorf("given up %v, want %v", log.gaveUp, want)
	}
	if got := set.take("!a", "s1"); len(got) != 0 {
		t.Errorf("a dropped event was still waiting")
	}
	if got := set.take("!a", "s5"); len(got) != 1 {
		t.Errorf("the newest event was not kept")
	}
}

func TestLateKeysExpire(t *testing.T) {
	clock := &fakeClock{time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	set := newLateKeys(clock.now, 10, 24*time.Hour)
	var log lateLog
	set.add("!a", "s1", lateEvt("old"), log.tell("$old"))
	clock.t = clock.t.Add(12 * time.Hour)
	set.add("!a", "s1", lateEvt("new"), log.tell("$new"))
	clock.t = clock.t.Add(12*time.Hour - time.Second)
	set.expire()
	if len(log.gaveUp) != 0 {
		t.Fatalf("given up %v before 24 h", log.gaveUp)
	}
	clock.t = clock.t.Add(time.Second)
	set.expire()
	if want := map[id.EventID]string{"$old": GiveUpExpired}; !maps.Equal(log.gaveUp, want) {
		t.Errorf("given up %v, want %v", log.gaveUp, want)
	}
	got := set.take("!a", "s1")
	if len(got) != 1 || got[0].evt.ID != "$new" {
		t.Errorf("after expiry the session holds %d events, want only $new", len(got))
	}
}

func TestLateKeysHookChainsAndHandsBack(t *testing.T) {
	clock := &fakeClock{time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	set := newLateKeys(clock.now, 10, time.Hour)
	var log lateLog
	var order []string
	prev := func(_ context.Context, room id.RoomID, session id.SessionID, _ uint32) {
		order = append(order, "prev:"+room.String()+"/"+session.String())
	}
	hook := set.sessionHook(prev)
	set.add("!a", "s1", lateEvt("1"), LateKey{OnKey: func(evt *event.Event) {
		order = append(order, "key:"+evt.ID.String())
	}})
	set.add("!a", "s2", lateEvt("2"), log.tell("$2"))
	hook(context.Background(), "!a", "s1", 0)
	if want := []string{"prev:!a/s1", "key:$1"}; !slices.Equal(order, want) {
		t.Errorf("hook ran %v, want %v (the hook it replaced first)", order, want)
	}
	hook(context.Background(), "!a", "s1", 0)
	if len(order) != 3 {
		t.Errorf("a session announced twice handed its event back twice: %v", order)
	}
	if set.waiting() != 1 || len(log.keyed) != 0 {
		t.Errorf("another session's event was handed back")
	}
	// Without a hook to chain, the set's own still works.
	set.sessionHook(nil)(context.Background(), "!a", "s2", 0)
	if !slices.Equal(log.keyed, []id.EventID{"$2"}) {
		t.Errorf("handed back %v, want [$2]", log.keyed)
	}
}

func TestSessionLateErrorAwait(t *testing.T) {
	base := errors.New("no session")
	for _, arrived := range []bool{false, true} {
		clock := &fakeClock{time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
		set := newLateKeys(clock.now, 10, time.Hour)
		var log lateLog
		late := &SessionLateError{err: base, evt: lateEvt("1"), room: "!a", session: "s1", set: set,
			arrived: func() bool { return arrived }}
		if !errors.Is(late, base) {
			t.Errorf("SessionLateError does not wrap the crypto layer's error")
		}
		late.Await(log.tell("$1"))
		// A key that came between the failed decryption and Await is not
		// waited for until the event expires.
		wantWaiting, wantKeyed := 1, 0
		if arrived {
			wantWaiting, wantKeyed = 0, 1
		}
		if late.Waiting() != wantWaiting || len(log.keyed) != wantKeyed {
			t.Errorf("arrived=%v: waiting %d, handed back %d; want %d, %d", arrived, late.Waiting(), len(log.keyed), wantWaiting, wantKeyed)
		}
	}
}
