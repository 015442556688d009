package retention

import (
	"testing"

	"maunium.net/go/mautrix/id"
)

// Two sweeps must never walk one room at once: the periodic sweep skips a
// room whose backlog an earlier sweep (or a lifted hold) is working on.
func TestRoomSetClaimsOnce(t *testing.T) {
	var s roomSet
	a, b := id.RoomID("!a:trust"), id.RoomID("!b:trust")
	if !s.claim(a) {
		t.Fatal("a free room could not be claimed")
	}
	if s.claim(a) {
		t.Fatal("a room being swept was claimed again")
	}
	if !s.claim(b) {
		t.Fatal("one room's sweep kept another room from being swept")
	}
	s.release(a)
	if !s.claim(a) {
		t.Fatal("a room could not be swept again after its sweep ended")
	}
}
