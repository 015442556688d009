package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/internal/retry"
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
	defer f.NoticeGatekeeper(ctx)
	if err := f.ensure(ctx); err != nil {
		f.mu.Lock()
		f.failures++
		// Once, on the second failure in a row: at start-up the hosting
		// trust may simply not have made the room yet.
		alert := f.failures == 2
		f.loadErr = err.Error()
		f.mu.Unlock()
		f.Log.Warn().Err(err).Msg("The federation's policy list cannot be read; keeping the last good state")
		if alert {
			_ = f.NotifyManagement(ctx, policy.RuleFederationAlert, fmt.Sprintf("⚠ I cannot read the federation's policy list %s: %s. The rules I last read stay in force; leavers published by other trusts meanwhile are not removed until it is back.", f.Cfg.Federation.PolicyList, executor.MatrixReason(err)))
		}
		return
	}
	f.mu.Lock()
	recovered := f.failures >= 2
	f.loadErr, f.failures = "", 0
	f.mu.Unlock()
	if recovered {
		_ = f.NotifyManagement(ctx, policy.RuleFederationAlert, "✅ The federation's policy list can be read again; its rules are up to date.")
	}
}

// reloadEvery is how often the whole list is read again, besides the
// rules that arrive as events: a safety net, not the way rules travel.
const reloadEvery = 10 * time.Minute

func (f *Federation) ensure(ctx context.Context) error {
	f.mu.RLock()
	room, loaded := f.room, f.loadedAt
	f.mu.RUnlock()
	if room != "" && f.Now().Sub(loaded) < reloadEvery {
		if f.hostsList() {
			f.inviteMissing(ctx, room) // each at most once per reload period
		}
		return nil
	}
	if room == "" {
		alias := id.RoomAlias(f.Cfg.Federation.PolicyList)
		var err error
		if room, err = f.JoinOrCreate(ctx, alias, f.createList); err != nil {
			return err
		}
	}
	if f.hostsList() {
		f.inviteMissing(ctx, room)
	}
	if err := f.load(ctx, room); err != nil {
		return err
	}
	f.mu.Lock()
	f.room, f.loadedAt = room, f.Now()
	f.mu.Unlock()
	return nil
}

func (f *Federation) createList(ctx context.Context, localpart string) (id.RoomID, error) {
	// Invitations go out after, one by one (inviteMissing): a trust whose
	// server is down must not stop the room being made.
	plan := policy.ListRoomPlan(localpart, f.Cfg.Trust.Name+" federation", f.otherBots(), f.Cfg.Federation.Admins, f.Requirements())
	plan.Invite = nil
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

// inviteMissing invites the trusts' bots and the federation's admins the
// list room lacks (a trust whose server was down when the room was made, or
// that joined the federation later). One that cannot be invited now is
// tried again at the next reload.
func (f *Federation) inviteMissing(ctx context.Context, room id.RoomID) {
	resp, err := f.Bot.Members(ctx, room)
	if err != nil {
		f.Log.Warn().Err(err).Msg("Could not read the federation list room's members")
		return
	}
	present := map[string]bool{} // joined, or invited and yet to answer
	for _, m := range resp.Chunk {
		_ = m.Content.ParseRaw(m.Type)
		if ms := m.Content.AsMember().Membership; ms == event.MembershipJoin || ms == event.MembershipInvite {
			present[m.GetStateKey()] = true
		}
	}
	now := f.Now()
	for _, user := range append(f.otherBots(), f.Cfg.Federation.Admins...) {
		if present[user] || user == f.BotID.String() {
			continue
		}
		f.mu.Lock()
		a := f.invites[user]
		f.mu.Unlock()
		if now.Before(a.next) {
			continue
		}
		// Tried again with backoff: a trust whose server is down is
		// invited soon after it is back.
		ictx := executor.WithInput(ctx, fmt.Sprintf("list-invite:%s:%d", user, a.tries))
		res, err := f.Exec.Execute(ictx, room, f.BotID.String(), policy.InviteToList(user))
		a.tries++
		a.wait = inviteBackoff.Next(a.wait)
		a.next = now.Add(a.wait)
		f.mu.Lock()
		f.invites[user] = a
		f.mu.Unlock()
		if err != nil || len(res.Failures) > 0 {
			f.Log.Info().Err(err).Int("failures", len(res.Failures)).Str("user_id", user).Msg("Could not invite to the federation's list yet")
		}
	}
}

// inviteBackoff spaces the invitations to someone the list room lacks:
// 15 s doubling to the reload period.
var inviteBackoff = retry.Backoff{Initial: 15 * time.Second, Max: reloadEvery}

// inviteAttempts spaces the invitations to someone the list room lacks.
type inviteAttempts struct {
	tries int
	wait  time.Duration
	next  time.Time
}

// load reads the list room's state and rebuilds the rules from it.
func (f *Federation) load(ctx context.Context, room id.RoomID) error {
	var events []struct {
		Type     string          `json:"type"`
		StateKey *string         `json:"state_key"`
		Sender   string          `json:"sender"`
		EventID  string          `json:"event_id"`
		TS       int64           `json:"origin_server_ts"`
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
		le, _, err := f.asListEvent(ctx, room, e.Type, *e.StateKey, e.Sender, e.EventID, e.TS, e.Content)
		if err != nil {
			return err // the rules last read stay in force
		}
		list.Apply(le)
	}
	f.mu.Lock()
	before := f.trustsLocked()
	f.list = list
	after := f.trustsLocked()
	f.mu.Unlock()
	f.applyTrusts(ctx, before, after)
	f.publishView(ctx)
	c := list.Counts()
	f.Log.Info().Interface("counts", c).Msg("Read the federation's policy list")
	return nil
}
