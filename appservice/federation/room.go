package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/policylist"
)

// EnsureList joins the list room (the hosting trust creates it and invites
// the other trusts' bots) and reads every rule in it. Run at start-up and
// as a periodic job: a trust that started before the host made the room,
// or a list that could not be read, catches up here; meanwhile the last
// good state stays in force.
func (f *Federation) EnsureList(ctx context.Context) {
	if !f.Enabled() {
		return
	}
	if err := f.ensure(ctx); err != nil {
		f.mu.Lock()
		first := f.loadErr == ""
		f.loadErr = err.Error()
		f.mu.Unlock()
		f.Log.Warn().Err(err).Msg("The federation's policy list cannot be read; keeping the last good state")
		if first {
			_ = f.NotifyManagement(ctx, policy.RuleFederationAlert, fmt.Sprintf("⚠ I cannot read the federation's policy list %s: %s. The rules I last read stay in force; leavers published by other trusts meanwhile are not removed until it is back.", f.Cfg.Federation.PolicyList, executor.MatrixReason(err)))
		}
		return
	}
	f.mu.Lock()
	recovered := f.loadErr != ""
	f.loadErr = ""
	f.mu.Unlock()
	if recovered {
		_ = f.NotifyManagement(ctx, policy.RuleFederationAlert, "✅ The federation's policy list can be read again; its rules are up to date.")
	}
}

func (f *Federation) ensure(ctx context.Context) error {
	alias := id.RoomAlias(f.Cfg.Federation.PolicyList)
	room, err := f.JoinOrCreate(ctx, alias, f.createList)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.room = room
	f.mu.Unlock()
	if f.hostsList() {
		if err := f.inviteMissing(ctx, room); err != nil {
			return err
		}
	}
	return f.load(ctx, room)
}

func (f *Federation) createList(ctx context.Context, localpart string) (id.RoomID, error) {
	plan := policy.ListRoomPlan(localpart, f.Cfg.Trust.Name+" federation", f.otherBots(), f.Cfg.Federation.Admins, f.Requirements())
	room, err := f.CreateBotRoom(ctx, plan, "hosts the federation's policy list")
	if err != nil {
		return "", fmt.Errorf("create the federation's policy list: %w", err)
	}
	return room, nil
}

// otherBots are the other trusts' bots, from config.
func (f *Federation) otherBots() []string {
	var out []string
	for _, server := range f.Cfg.Federation.Servers {
		out = append(out, f.Cfg.Federation.BotOf(server, f.BotID.Localpart()))
	}
	slices.Sort(out)
	return out
}

// inviteMissing invites trusts' bots the list room lacks (a trust that
// joined the federation after the room was made).
func (f *Federation) inviteMissing(ctx context.Context, room id.RoomID) error {
	var members struct {
		Joined map[string]json.RawMessage `json:"joined"`
	}
	url := f.Bot.BuildClientURL("v3", "rooms", room, "joined_members")
	if _, err := f.Bot.MakeRequest(ctx, "GET", url, nil, &members); err != nil {
		return fmt.Errorf("read the list room's members: %w", err)
	}
	for _, bot := range f.otherBots() {
		if _, in := members.Joined[bot]; in {
			continue
		}
		ictx := executor.WithInput(ctx, "list-invite:"+bot)
		if _, err := f.Execute(ictx, room, f.BotID.String(), policy.InviteToList(bot)); err != nil {
			return err
		}
	}
	return nil
}

// load reads the list room's state and rebuilds the rules from it.
func (f *Federation) load(ctx context.Context, room id.RoomID) error {
	var events []struct {
		Type     string          `json:"type"`
		StateKey *string         `json:"state_key"`
		Sender   string          `json:"sender"`
		EventID  string          `json:"event_id"`
		Content  json.RawMessage `json:"content"`
	}
	if err := f.Facts.State(ctx, room, &events); err != nil {
		return err
	}
	list, err := policylist.New(f.authority(), policylist.Limits{})
	if err != nil {
		return err
	}
	for _, e := range events {
		if _, ok := policylist.KindOf(e.Type); !ok || e.StateKey == nil {
			continue
		}
		list.Apply(f.asListEvent(e.Type, *e.StateKey, e.Sender, e.EventID, e.Content))
	}
	f.mu.Lock()
	before := f.trustsLocked()
	f.list = list
	after := f.trustsLocked()
	f.mu.Unlock()
	f.applyTrusts(ctx, before, after)
	c := list.Counts()
	f.Log.Info().Interface("counts", c).Msg("Read the federation's policy list")
	return nil
}
