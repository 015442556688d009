package gatekeeper

import (
	"regexp"

	"github.com/caldicott/caldicott/nhsnumber"
)

// roomIDShape is an opaque room ID as homeservers make them.
var roomIDShape = regexp.MustCompile(`^![A-Za-z0-9._~=+/-]{1,255}:[A-Za-z0-9.:\[\]-]{1,255}$`)

// loggableRoom is what a log line may say of a room ID taken from a
// request's path: the client wrote it, so anything that is not shaped like
// a room ID, or holds an NHS number, is not written (no patient data in
// logs, at any level; found in review).
func loggableRoom(roomID string) string {
	if !roomIDShape.MatchString(roomID) || nhsnumber.Contains(roomID) {
		return "(not a room ID)"
	}
	return roomID
}
