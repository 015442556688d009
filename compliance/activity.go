package compliance

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/caldicott/caldicott/gatekeeper"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Activity is one audit entry as a page shows it: who, what, where, which
// rule and about whom — never the entry's detail whole (a state event's
// content, a message's ID), and its reason cleaned.
type Activity struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	RoomID string    `json:"room_id,omitempty"`
	Action string    `json:"action"`
	Rule   string    `json:"rule,omitempty"`
	// Subject is the person the entry is about, when it names one.
	Subject string `json:"subject,omitempty"`
	Reason  string `json:"reason"`
	Failed  bool   `json:"failed"`
	// Endpoint is what the gatekeeper refused (its refusals only).
	Endpoint string `json:"endpoint,omitempty"`
}

// What is the action in words.
func (a Activity) What() string {
	if a.Endpoint != "" {
		return "refused a request (" + strings.ReplaceAll(a.Endpoint, "_", " ") + ")"
	}
	if w, ok := actionWords[strings.TrimPrefix(a.Action, failedPrefix)]; ok {
		if a.Failed {
			return "tried to " + w + " (failed)"
		}
		return w
	}
	return strings.ReplaceAll(a.Action, "_", " ")
}

// failedPrefix marks the audit entry of an action that failed (executor).
const failedPrefix = "failed."

var actionWords = map[string]string{
	string(policy.SetState): "changed the room's settings", string(policy.NotifyRoom): "told the room",
	string(policy.NotifyManagement): "told the IG team", string(policy.Kick): "removed someone",
	string(policy.Reply): "answered a command", string(policy.Invite): "invited someone",
	string(policy.Redact): "deleted a message", string(policy.CreateRoom): "created a room",
	string(policy.Join): "joined a room", string(policy.Leave): "left a room",
	string(policy.SignOutDevices): "signed someone's devices out", string(policy.NotifyUser): "told someone directly",
	string(policy.QuietBot): "quietened the bot", string(policy.DeleteMedia): "deleted an expired file",
	string(policy.Upgrade): "upgraded the room", gatekeeper.ActionRefused: "refused a request (gatekeeper)",
}

// isBotAction says whether an entry records an action Caldicott carried out
// (or tried to) on the homeserver: one of policy's action kinds.
func isBotAction(action string) bool {
	kind := strings.TrimPrefix(action, failedPrefix)
	for _, k := range policy.Kinds {
		if string(k) == kind {
			return true
		}
	}
	return false
}

type auditDetail struct {
	Rule      string          `json:"rule"`
	UserID    string          `json:"user_id"`
	EventType string          `json:"event_type"`
	Content   json.RawMessage `json:"content"`
	Endpoint  string          `json:"endpoint"`
}

func parseDetail(raw string) auditDetail {
	var d auditDetail
	_ = json.Unmarshal([]byte(raw), &d) // a detail that does not parse names nothing
	return d
}

func activityOf(e store.AuditEntry) Activity {
	d := parseDetail(e.Detail)
	a := Activity{Seq: e.Seq, Time: e.Time.UTC(), Actor: e.Actor, RoomID: e.RoomID, Action: e.Action, Rule: d.Rule,
		Subject: d.UserID, Reason: Clean(e.Reason), Failed: strings.HasPrefix(e.Action, failedPrefix)}
	if e.Action == gatekeeper.ActionRefused {
		// The gatekeeper records its rule as the reason, and what was asked.
		a.Rule, a.Reason, a.Endpoint = Clean(e.Reason), "", Clean(d.Endpoint)
		if a.Endpoint == "" {
			a.Endpoint = "unknown"
		}
	}
	return a
}

var errPeriodEnd = errors.New("end of period")

// scanPeriod calls fn for every audit entry in the period, in order.
func (m *Model) scanPeriod(ctx context.Context, p Period, fn func(store.AuditEntry) error) error {
	err := m.st.AuditSince(ctx, p.From, func(e store.AuditEntry) error {
		if !e.Time.Before(p.To) {
			return errPeriodEnd
		}
		return fn(e)
	})
	if errors.Is(err, errPeriodEnd) {
		return nil
	}
	return err
}

// Log is a bounded list of activity: the count in the period and the
// latest entries.
type Log struct {
	Count int `json:"count"`
	// Latest holds up to its bound, newest first.
	Latest []Activity `json:"latest"`
	bound  int
}

func newLog(bound int) Log { return Log{bound: bound, Latest: []Activity{}} }

func (l *Log) add(a Activity) {
	l.Count++
	l.Latest = append(l.Latest, a)
	if len(l.Latest) >= 2*l.bound {
		l.Latest = append(l.Latest[:0:0], l.Latest[len(l.Latest)-l.bound:]...)
	}
}

// done keeps the latest entries up to the bound, newest first.
func (l *Log) done() {
	if len(l.Latest) > l.bound {
		l.Latest = l.Latest[len(l.Latest)-l.bound:]
	}
	for i, j := 0, len(l.Latest)-1; i < j; i, j = i+1, j-1 {
		l.Latest[i], l.Latest[j] = l.Latest[j], l.Latest[i]
	}
}

// More is how many entries the list leaves out.
func (l Log) More() int { return l.Count - len(l.Latest) }
