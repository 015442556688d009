package appservice_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// The bot is in every room it guards; without its quiet push rule Dendrite
// keeps an unread notification for it per message and counts them all
// again for each new one. At start-up Caldicott puts the rule in place
// (once: a restart finds it and does nothing), and a message that notifies
// a person records nothing for the bot.
func TestBotCollectsNoNotifications(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	tr.Start(t)
	alice := tr.HS.RegisterUser(t, "alice", false)
	bob := tr.HS.RegisterUser(t, "bob", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
		{UserID: bob.UserID.String(), Name: "Bob Jones", Role: "Nurse", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	room := tr.ClinicalRoom(t, alice, bob)
	testenv.SendText(t, alice, room, "Bed 4 needs a review before noon")

	count := func(cli *mautrix.Client) int {
		t.Helper()
		return len(notificationsOf(t, cli))
	}
	bot, err := mautrix.NewClient(tr.HS.URL, tr.BotID(), tr.Config.AppService.ASToken)
	if err != nil {
		t.Fatal(err)
	}
	// Bob's notification shows Dendrite has judged the message for everyone.
	testenv.Eventually(t, 15*time.Second, "Bob to be notified of the message (else we cannot tell whether the bot would be)", func() (bool, string) {
		n := count(bob)
		return n > 0, fmt.Sprint(n, " notifications")
	})
	if n := count(bot); n != 0 {
		t.Fatalf("the homeserver keeps %d notifications for the bot", n)
	}

	quietEntries := func() int {
		n := 0
		_ = tr.Store.AuditSince(ctx, time.Time{}, func(e store.AuditEntry) error {
			if e.Action == "quiet_bot" {
				n++
			}
			return nil
		})
		return n
	}
	if n := quietEntries(); n != 1 {
		t.Fatalf("%d audit entries for the bot's push rule, want 1", n)
	}
	tr.Stop(t)
	tr.Start(t)
	if n := quietEntries(); n != 1 {
		t.Fatalf("after a restart: %d audit entries for the bot's push rule, want still 1 (the rule was there)", n)
	}
	var rule struct {
		Enabled bool  `json:"enabled"`
		Actions []any `json:"actions"`
	}
	if _, err := bot.MakeRequest(ctx, http.MethodGet, bot.BuildClientURL("v3", "pushrules", "global", "override", policy.BotQuietRuleID), nil, &rule); err != nil || !rule.Enabled || len(rule.Actions) != 0 {
		t.Fatalf("the bot's quiet rule: %+v, %v", rule, err)
	}
}

// notification is one entry of GET /notifications.
type notification struct {
	RoomID  string          `json:"room_id"`
	Actions []any           `json:"actions"`
	Event   json.RawMessage `json:"event"`
}

// notificationsOf is what the homeserver has notified cli of.
func notificationsOf(t *testing.T, cli *mautrix.Client) []notification {
	t.Helper()
	var resp struct {
		Notifications []notification `json:"notifications"`
	}
	if _, err := cli.MakeRequest(ctx, http.MethodGet, cli.BuildClientURL("v3", "notifications"), nil, &resp); err != nil {
		t.Fatalf("notifications of %s: %v", cli.UserID, err)
	}
	return resp.Notifications
}
