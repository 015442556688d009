package appservice_test

import (
	"context"
	"os"
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/caldicott/caldicott/internal/testenv"
)

// The trust harness (trust.New, Start, ClinicalRoom, …) is in
// internal/testenv/trust, and what a member does in a room (Say,
// WaitForNotice, Eventually, …) in internal/testenv.

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

var ctx = context.Background()

var (
	event_member = event.StateMember
	typeChild    = event.Type{Type: "m.space.child", Class: event.StateEventType}
	typeParent   = event.Type{Type: "m.space.parent", Class: event.StateEventType}
)
