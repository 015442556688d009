package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Store is what the executor keeps: the action log, the audit log and the
// direct chats it opened.
type Store interface {
	PlanActions(ctx context.Context, actions []store.LoggedAction) (map[string]store.LoggedAction, error)
	CompleteAction(ctx context.Context, txnID, state, result string, audit store.AuditEntry) error
	PendingActions(ctx context.Context, limit int) ([]store.LoggedAction, error)
	AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error)
	KV(ctx context.Context, key string) (string, bool, error)
	SetKV(ctx context.Context, key, value string) error
}

// Config is what the executor needs to know of the deployment.
type Config struct {
	// DryRun: log and audit every action, do none (replies excepted: a
	// person who asks is always answered).
	DryRun bool
	// OwnServer is this trust's server name, for aliases of created rooms.
	OwnServer string
	// HomeserverURL and AdminToken reach Dendrite's admin API.
	HomeserverURL string
	AdminToken    string
	// MediaPath is Dendrite's media store (retention.media_path), where a
	// DeleteMedia removes a file's bytes; empty: none is deleted.
	MediaPath string
	// PlaintextInEncryptedRooms: without an encryption device, post
	// messages in encrypted rooms in plaintext rather than withhold them
	// (appservice.plaintext_in_encrypted_rooms; trials and tests only).
	PlaintextInEncryptedRooms bool
}

// Executor carries out decisions. It is safe for concurrent use; the
// caller keeps the actions on one room in order.
type Executor struct {
	bot     *mautrix.Client
	http    *http.Client
	st      Store
	cfg     Config
	log     zerolog.Logger
	actions *prometheus.CounterVec

	mu         sync.RWMutex
	encrypter  Encrypter
	management id.RoomID
	// encryptedRooms: rooms found encrypted (id.RoomID to
	// *event.EncryptionEventContent); see encryptionOf.
	encryptedRooms sync.Map

	// failpoint stops the process at a named step, in crash tests only
	// (build tag failpoint); nil otherwise.
	failpoint func(step string)
	// unfinished: decisions stopped by a transient failure (unfinished.go).
	unfinished unfinished
	// settles: when the history shows what the last leader did (lag.go).
	settles atomic.Pointer[time.Time]
}

// New builds an executor that writes with bot. actions counts what it does
// by kind and outcome (labels "kind", "outcome").
func New(bot *mautrix.Client, httpClient *http.Client, st Store, cfg Config, actions *prometheus.CounterVec, log zerolog.Logger) *Executor {
	return &Executor{bot: bot, http: httpClient, st: st, cfg: cfg, actions: actions, log: log, failpoint: failpointFromEnv()}
}

// SetManagementRoom says where NotifyManagement goes.
func (e *Executor) SetManagementRoom(roomID id.RoomID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.management = roomID
}

// ManagementRoom is where NotifyManagement goes, or "".
func (e *Executor) ManagementRoom() id.RoomID {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.management
}

// DryRun reports whether actions are only audited.
func (e *Executor) DryRun() bool { return e.cfg.DryRun }

// Result is what carrying out a decision produced.
type Result struct {
	// Failures say, for people, what could not be done and why.
	Failures []string
	// Room is the room a CreateRoom made, a Join entered or an Upgrade
	// replaced the room with.
	Room id.RoomID
	// DryRun: nothing but replies was done.
	DryRun bool
}

// Execute carries out a decision about roomID, decided for actor. A
// transient failure (homeserver or database unreachable) is returned, and
// the actions not yet done stay pending: handling the same input again (see
// WithInput) resumes where it stopped. A permanent failure (refused for
// lack of power) is audited and reported in the result.
func (e *Executor) Execute(ctx context.Context, roomID id.RoomID, actor string, d policy.Decision) (Result, error) {
	res := Result{DryRun: e.cfg.DryRun}
	if err := e.finishUnfinished(ctx); err != nil {
		return res, err
	}
	if len(d.Actions) == 0 {
		return res, nil
	}
	txns := txnIDs(ctx, roomID, d.Actions)
	planned := make([]store.LoggedAction, len(d.Actions))
	for i, a := range d.Actions {
		raw, err := json.Marshal(a)
		if err != nil {
			return res, fmt.Errorf("encode %s action: %w", a.Kind, err)
		}
		planned[i] = store.LoggedAction{TxnID: txns[i], RoomID: roomID.String(), Actor: actor, JSON: raw}
	}
	known, err := e.st.PlanActions(ctx, planned)
	if err != nil {
		return res, err
	}
	e.hit("planned:" + string(d.Actions[0].Kind))
	for i, a := range d.Actions {
		prior, seen := known[txns[i]]
		if seen && prior.State != store.ActionPending {
			if a.Kind == policy.CreateRoom || a.Kind == policy.Join || a.Kind == policy.Upgrade {
				res.Room = id.RoomID(prior.Result)
			}
			continue // done before: never again
		}
		step := actionStep{txn: txns[i], room: roomID, actor: actor, action: a, resumed: seen}
		if seen {
			step.lookUntil = e.replayLookUntil() // decided before a crash or takeover
		}
		out, err := e.run(ctx, step, i)
		if err != nil {
			if retry.IsTransient(err) {
				e.unfinished.keep(InputOf(ctx), rest(txns, roomID, actor, d.Actions, i))
			}
			return res, err
		}
		if out.room != "" {
			res.Room = out.room
		}
		if out.failure != "" {
			res.Failures = append(res.Failures, out.failure)
		}
	}
	return res, nil
}

// actionStep is one action on its way to the homeserver.
type actionStep struct {
	txn     string
	room    id.RoomID
	actor   string
	action  policy.Action
	resumed bool // decided before, outcome unknown: check before acting
	// lookUntil: a resumed step waits until then for the homeserver's
	// history to show what an earlier attempt did (lag.go).
	lookUntil time.Time
}

type outcome struct {
	room    id.RoomID
	failure string
}

func (e *Executor) run(ctx context.Context, s actionStep, i int) (outcome, error) {
	a := s.action
	log := e.log.With().Stringer("room_id", s.room).Str("action", string(a.Kind)).Str("rule", a.Rule).Logger()
	detail := auditDetail(a, s.txn)
	if e.cfg.DryRun && a.Kind != policy.Reply {
		log.Info().Msg("Dry run: would act")
		return outcome{}, e.complete(ctx, s, store.ActionDryRun, "", "dry_run."+string(a.Kind), a.Reason, detail)
	}
	room, actErr := e.perform(ctx, s)
	e.hit(fmt.Sprintf("performed:%d:%s", i, a.Kind))
	if errors.Is(actErr, errWithheld) {
		e.count(a.Kind, "withheld")
		log.Warn().Str("txn_id", s.txn).Str("event_id", a.EventID).Msg("Message withheld from an encrypted room: no encryption device")
		return outcome{}, e.complete(ctx, s, store.ActionDone, "", "withheld."+string(a.Kind), a.Reason+"; "+errWithheld.Error(), detail)
	}
	if actErr != nil && retry.IsTransient(actErr) {
		e.count(a.Kind, "retry")
		return outcome{}, actErr
	}
	if actErr != nil {
		e.count(a.Kind, "failed")
		log.Warn().Err(actErr).Msg("Action failed")
		reason := fmt.Sprintf("%s; failed: %v", a.Reason, actErr)
		if err := e.complete(ctx, s, store.ActionFailed, MatrixReason(actErr), "failed."+string(a.Kind), reason, detail); err != nil {
			return outcome{}, err
		}
		return outcome{failure: fmt.Sprintf("I could not %s: %s", a.Text, MatrixReason(actErr))}, nil
	}
	e.count(a.Kind, "done")
	log.Info().Msg("Action done")
	if room != "" {
		detail["room"] = room.String()
	}
	if err := e.complete(ctx, s, store.ActionDone, room.String(), string(a.Kind), a.Reason, detail); err != nil {
		return outcome{}, err
	}
	e.hit(fmt.Sprintf("completed:%d:%s", i, a.Kind))
	return outcome{room: room}, nil
}

func (e *Executor) complete(ctx context.Context, s actionStep, state, result, auditAction, reason string, detail map[string]any) error {
	raw, err := json.Marshal(withVia(ctx, detail))
	if err != nil {
		return fmt.Errorf("encode audit detail: %w", err)
	}
	entry := store.AuditEntry{Actor: s.actor, RoomID: s.room.String(), Action: auditAction, Reason: reason, Detail: string(raw)}
	if err := e.st.CompleteAction(ctx, s.txn, state, result, entry); err != nil {
		return err
	}
	return nil
}

// auditDetail is what the audit log keeps of an action: never a message's text.
func auditDetail(a policy.Action, txn string) map[string]any {
	detail := map[string]any{"rule": a.Rule, "txn_id": txn}
	switch a.Kind {
	case policy.SetState:
		detail["event_type"], detail["content"] = a.EventType, a.Content
		if a.StateKey != "" {
			detail["state_key"] = a.StateKey
		}
	case policy.Kick, policy.Invite, policy.SignOutDevices, policy.NotifyUser:
		detail["user_id"] = a.UserID
	case policy.Redact, policy.Reply:
		detail["event_id"] = a.EventID
	case policy.Join:
		if a.Target != "" {
			detail["target"] = a.Target
		}
	case policy.DeleteMedia:
		detail["media"], detail["hash"] = a.Target, a.Hash
	case policy.Upgrade:
		detail["room_version"] = a.Version // and, once done, "room": the replacement
	}
	return detail
}

func (e *Executor) count(kind policy.ActionKind, outcome string) {
	if e.actions != nil {
		e.actions.WithLabelValues(string(kind), outcome).Inc()
	}
}

func (e *Executor) hit(step string) {
	if e.failpoint != nil {
		e.failpoint(step)
	}
}

// Failpoint is where a crash test may stop the process outside the
// executor's own steps (a sweep's or a record's state written); it does
// nothing unless built with the failpoint tag and CALDICOTT_FAILPOINT
// names step.
func (e *Executor) Failpoint(step string) {
	if e != nil {
		e.hit(step)
	}
}

// Audit records a decision that is not an action on the homeserver (a
// refusal, a request recorded, a review confirmed). A failure is transient:
// the input is retried when the database is back, so nothing goes unrecorded.
func (e *Executor) Audit(ctx context.Context, actor string, roomID id.RoomID, action, reason string, detail map[string]any) error {
	detail = withVia(ctx, detail)
	raw := []byte("{}")
	if detail != nil {
		var err error
		if raw, err = json.Marshal(detail); err != nil {
			return fmt.Errorf("encode audit detail: %w", err)
		}
	}
	if _, err := e.st.AppendAudit(ctx, store.AuditEntry{Actor: actor, RoomID: roomID.String(), Action: action, Reason: reason, Detail: string(raw)}); err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}

// PrepareBot registers the bot user and sets its display name: the bot's
// own set-up, done once at start, not a decision about any room.
func (e *Executor) PrepareBot(ctx context.Context, register func(context.Context) error, displayName string) error {
	if err := register(ctx); err != nil {
		return fmt.Errorf("register bot: %w", err)
	}
	if err := e.bot.SetDisplayName(ctx, displayName); err != nil {
		e.log.Warn().Err(err).Msg("Could not set the bot's display name")
	}
	return nil
}
