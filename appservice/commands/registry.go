package commands

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

// Command is one bot command.
type Command struct {
	policy.CommandSpec
	// Doc is the command's entry in docs/commands.md: what it does, in full.
	Doc string
	Run Handler
}

// Handler runs a command that passed every check.
type Handler func(ctx context.Context, c *Call) error

// Call is one command being handled.
type Call struct {
	Evt  *event.Event
	Name string
	Args []string
	Spec policy.CommandSpec
	// Facts are the room's, read for commands that act on the room or
	// need room power.
	Facts policy.RoomFacts
}

// Env is what the dispatcher needs from the service around it.
type Env interface {
	Reply(ctx context.Context, evt *event.Event, text string) error
	Audit(ctx context.Context, actor string, roomID id.RoomID, action, reason string, detail map[string]any) error
	LoadFacts(ctx context.Context, roomID id.RoomID) (policy.RoomFacts, error)
	IsManagementOrDM(ctx context.Context, roomID id.RoomID) (bool, error)
	ManagementRoom() id.RoomID
	IsIGAdmin(user id.UserID) bool
	OwnServer() string
	// People lists a room's members who are people (bots aside): whom a
	// refusal may tell the caller to ask.
	People(ctx context.Context, roomID id.RoomID) ([]string, error)
}

// Registry holds the commands in help order.
type Registry struct {
	env    Env
	list   []Command
	byName map[string]int
}

// New registers the commands. A duplicate name or a command without a
// handler is an error at start-up, not a surprise when someone types it.
func New(env Env, cmds ...Command) (*Registry, error) {
	r := &Registry{env: env, byName: map[string]int{}}
	for _, c := range cmds {
		if c.Name == "" || c.Run == nil || c.Usage == "" || c.Summary == "" {
			return nil, fmt.Errorf("command %q is incomplete (name, usage, summary and handler are required)", c.Name)
		}
		if _, dup := r.byName[c.Name]; dup {
			return nil, fmt.Errorf("command %q registered twice", c.Name)
		}
		r.byName[c.Name] = len(r.list)
		r.list = append(r.list, c)
	}
	return r, nil
}

// Commands lists the registered commands in help order.
func (r *Registry) Commands() []Command { return append([]Command(nil), r.list...) }

// Handle validates, authorises and runs one command.
func (r *Registry) Handle(ctx context.Context, evt *event.Event, cmd policy.Command) (err error) {
	log := zerolog.Ctx(ctx).With().Str("command", cmd.Name).Logger()
	defer func() {
		if p := recover(); p != nil {
			log.Error().Any("panic", p).Str("stack", string(debug.Stack())).Msg("Command handler panicked")
			err = r.env.Reply(ctx, evt, "Something went wrong on my side while handling that command. It has been logged for your administrator; please try again later.")
		}
	}()
	i, ok := r.byName[cmd.Name]
	if !ok {
		return r.env.Reply(ctx, evt, policy.UnknownCommandReply(cmd.Name, r.names()))
	}
	c := r.list[i]
	if msg := policy.CheckArgs(c.CommandSpec, cmd.Args); msg != "" {
		return r.env.Reply(ctx, evt, msg)
	}
	call := &Call{Evt: evt, Name: cmd.Name, Args: cmd.Args, Spec: c.CommandSpec}
	switch c.Place {
	case policy.InManagementOrDM:
		inPlace, err := r.env.IsManagementOrDM(ctx, evt.RoomID)
		if err != nil {
			return err
		}
		if !inPlace {
			return r.env.Reply(ctx, evt, fmt.Sprintf("`%s` works in the trust's management room or in a direct chat with me, not in an ordinary room.", c.Usage))
		}
	case policy.InManagement:
		if evt.RoomID != r.env.ManagementRoom() {
			return r.env.Reply(ctx, evt, fmt.Sprintf("`%s` works only in the trust's management room.", c.Usage))
		}
	}
	var allowed bool
	var refusal string
	if call.Facts, allowed, refusal, err = r.judge(ctx, c, evt.Sender, evt.RoomID); err != nil {
		return err
	}
	if !allowed {
		if err := r.env.Audit(ctx, evt.Sender.String(), evt.RoomID, "refused.command", "!policy "+cmd.Name+": "+refusal, nil); err != nil {
			return err
		}
		return r.env.Reply(ctx, evt, refusal)
	}
	return c.Run(ctx, call)
}

// Authorize says whether sender may run the named command in roomID, by
// the rules Handle applies (its place aside), and if not, why, in the words
// Handle would reply: the admin surface asks before acting as someone.
func (r *Registry) Authorize(ctx context.Context, name string, sender id.UserID, roomID id.RoomID) (bool, string, error) {
	i, ok := r.byName[name]
	if !ok {
		return false, "", fmt.Errorf("no command %q", name)
	}
	_, ok, refusal, err := r.judge(ctx, r.list[i], sender, roomID)
	return ok, refusal, err
}

// judge reads what command c needs of roomID (its facts, for commands that
// act on the room or need room power) and decides whether sender may run
// it there.
func (r *Registry) judge(ctx context.Context, c Command, sender id.UserID, roomID id.RoomID) (policy.RoomFacts, bool, string, error) {
	var facts policy.RoomFacts
	var err error
	if c.Place == policy.InRoom || c.Needs == policy.RoomPolicyPower {
		if facts, err = r.env.LoadFacts(ctx, roomID); err != nil {
			return facts, false, "", err
		}
	}
	actor := policy.Actor{
		UserID:    sender.String(),
		Level:     facts.PowerLevels.UserLevel(sender.String()),
		IsIGAdmin: r.env.IsIGAdmin(sender),
		OwnServer: r.env.OwnServer(),
		// Only room power counts on it, and then the room's facts are read.
		OwnTrustRoom: policy.OwnTrustRoom(facts.Creator, r.env.OwnServer()),
	}
	if c.Needs == policy.RoomUpgradePower {
		if actor.People, err = r.env.People(ctx, roomID); err != nil {
			return facts, false, "", err
		}
	}
	ok, refusal := policy.Authorize(c.CommandSpec, actor, facts.PowerLevels)
	return facts, ok, refusal, nil
}

func (r *Registry) names() []string {
	out := make([]string, len(r.list))
	for i, c := range r.list {
		out[i] = c.Name
	}
	return out
}

// Help lists the commands with one line each.
func (r *Registry) Help() string {
	var b strings.Builder
	b.WriteString("I am Caldicott, the guardian of clinical rooms. Commands:\n")
	for _, c := range r.list {
		fmt.Fprintf(&b, "• `%s` — %s\n", c.Usage, c.Summary)
	}
	b.WriteString("You can also address me by name, e.g. \"Caldicott: status\".")
	return b.String()
}
