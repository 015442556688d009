package policy

import (
	"testing"
	"time"
)

func TestRoomSweepProofDeletedBefore(t *testing.T) {
	finished := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	kept := finished.Add(-40 * 24 * time.Hour)
	tests := []struct {
		name  string
		proof RoomSweepProof
		want  time.Time
	}{
		{"never swept proves nothing", RoomSweepProof{}, time.Time{}},
		{"a held room proves nothing", RoomSweepProof{Held: true, LastFinished: finished, OldestKept: kept}, time.Time{}},
		{"a failing room proves nothing", RoomSweepProof{LastFinished: finished, OldestKept: kept, Failures: 1}, time.Time{}},
		{"expired messages left (batch or record) prove nothing", RoomSweepProof{LastFinished: finished, OldestKept: kept, Backlog: 3}, time.Time{}},
		{"caught up: everything before the oldest kept message", RoomSweepProof{LastFinished: finished, OldestKept: kept}, kept},
		{"caught up with nothing left: everything before the pass", RoomSweepProof{LastFinished: finished}, finished},
		{"a kept message newer than the pass: only up to the pass", RoomSweepProof{LastFinished: finished, OldestKept: finished.Add(time.Hour)}, finished},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.proof.DeletedBefore(); !got.Equal(tt.want) {
				t.Errorf("DeletedBefore() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRoomKeySpent(t *testing.T) {
	day := 24 * time.Hour
	deleted := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	before := func(d time.Duration) time.Time { return deleted.Add(-d) }
	tests := []struct {
		name    string
		key     RoomKey
		deleted time.Time
		want    bool
	}{
		{"rotated long before what the sweep deleted: spent",
			RoomKey{Received: before(30 * day), Rotation: 7 * day, LastMessage: before(25 * day)}, deleted, true},
		{"no rotation period given: the spec's week is assumed",
			RoomKey{Received: before(9 * day), LastMessage: before(8 * day)}, deleted, true},
		{"still within its week: its sender may use it again",
			RoomKey{Received: before(5 * day), LastMessage: before(5 * day)}, deleted, false},
		{"rotated but not a day before the proof: kept for late messages",
			RoomKey{Received: before(7*day + 12*time.Hour), Rotation: 7 * day}, deleted, false},
		{"a sender that never rotated: its last message counts",
			RoomKey{Received: before(30 * day), Rotation: 7 * day, LastMessage: before(time.Hour)}, deleted, false},
		{"a room whose sweep proves nothing (held, waiting, never swept) keeps every key",
			RoomKey{Received: before(300 * day), Rotation: 7 * day, LastMessage: before(299 * day)}, time.Time{}, false},
		{"the bot's own session is kept",
			RoomKey{Own: true, Received: before(300 * day), Rotation: 7 * day}, deleted, false},
		{"a key of unknown age is kept",
			RoomKey{Rotation: 7 * day, LastMessage: before(300 * day)}, deleted, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RoomKeySpent(tt.key, tt.deleted); got != tt.want {
				t.Errorf("RoomKeySpent() = %v, want %v", got, tt.want)
			}
		})
	}
}
