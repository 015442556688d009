package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"maunium.net/go/mautrix"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/policylist"
)

// IsListEvent reports whether an event in the list room changes its rules.
func IsListEvent(t event.Type) bool {
	_, ok := policylist.KindOf(t.Type)
	return ok || t == event.EventRedaction
}

// HandleEvent applies one event of the list room as it arrives, and acts
// on what it changed: a ban of another trust's user removes them from our
// clinical rooms now; a withdrawn ban lets them be invited again; a change
// of member trusts rewrites every clinical room's server ACL; a refused
// rule is reported to the IG team.
func (f *Federation) HandleEvent(ctx context.Context, evt *event.Event) error {
	raw := evt.Content.VeryRaw
	if evt.Type == event.EventRedaction && evt.Redacts != "" {
		raw, _ = json.Marshal(map[string]any{"redacts": evt.Redacts})
	}
	le, unproven, err := f.asListEvent(ctx, evt.RoomID, evt.Type.Type, evt.GetStateKey(), evt.Sender.String(), evt.ID.String(), evt.Timestamp, raw)
	if err != nil {
		return retry.Transient(err) // the proof could not be read now: tried again
	}
	f.mu.Lock()
	before := f.trustsLocked()
	ch := f.list.Apply(le)
	if user, ours := policy.ListRuleEntity(evt.GetStateKey()); ours && evt.Sender == f.BotID {
		delete(f.sent, user)
	}
	after := f.trustsLocked()
	f.heard[evt.Sender.String()] = f.Now()
	f.mu.Unlock()

	if ch.Refused != nil {
		if err := f.reportRefusal(ctx, ch.Refused, unproven); err != nil {
			return err
		}
	}
	if r := ch.Added; r != nil && r.Kind == policylist.KindServer && r.Recommendation == policylist.Ban && f.configured(r.Entity) {
		text := fmt.Sprintf("⚠ %s removed %s from the federation's list of member trusts. %s is in this trust's own config (`federation.servers`), so it stays a member trust here and its staff keep their place in our clinical rooms. If this trust agrees, remove it from `federation.servers` and restart Caldicott.", r.Sender, r.Entity, r.Entity)
		if err := f.NotifyManagement(ctx, policy.RuleFederationAlert, text); err != nil {
			return err
		}
	}
	for _, r := range []*policylist.Rule{ch.Added, ch.Removed} {
		if r != nil && r.Kind == policylist.KindUser && f.Changed != nil && id.UserID(r.Entity).Homeserver() != f.Cfg.Homeserver.Domain {
			f.Changed(r.Entity)
		}
	}
	f.applyTrusts(ctx, before, after)
	if ch.Added != nil || ch.Removed != nil {
		f.publishView(ctx)
	}
	return nil
}

// reportRefusal tells the IG team of a rule the list refused (once: the
// list reports each refused event once), and writes back our own rule if
// the refused event overwrote it in the room.
func (f *Federation) reportRefusal(ctx context.Context, r *policylist.Refusal, unproven string) error {
	text := fmt.Sprintf("⚠ I refused a rule on the federation's policy list from %s (%s about %q): %s.", r.Sender, r.Type, r.Entity, r.Reason)
	if unproven != "" {
		text += fmt.Sprintf(" It claims a federation admin asked for it, but %s.", unproven)
	}
	text += " It is not applied here."
	if r.Kept != nil {
		text += fmt.Sprintf(" It overwrote %s's rule about %s in the room; that rule stays in force here.", r.Kept.Sender, r.Kept.Entity)
	}
	if err := f.NotifyManagement(ctx, policy.RuleFederationAlert, text); err != nil {
		return err
	}
	k := r.Kept
	if k == nil || f.Room() == "" {
		return nil
	}
	f.mu.RLock()
	content, ours := f.ours[k.EventID]
	f.mu.RUnlock()
	if !ours {
		return nil
	}
	_, err := f.Exec.Execute(ctx, f.Room(), f.BotID.String(), policy.RestoreRule(k.Type, k.StateKey, k.Entity, string(k.Recommendation), k.Reason, content))
	return err
}

// asListEvent turns a Matrix event into the list's input. A member-trust
// rule that a trust's bot publishes counts as a federation admin's own only
// with proof (policy.ProofKey): the admin's `!policy trust` command in the
// list room, read from our own homeserver and asking for exactly this rule,
// at the list's key for that server, and no older than a request already
// applied about the same server (kept in the store, so a replay refused
// live stays refused after a restart). Otherwise the rule stays the bot's,
// and the list refuses it (a bot may not publish member-trust rules);
// unproven says why. A rule an admin writes as themselves is their own
// request, dated by their homeserver. err is set only when the proof or
// the store could not be read now.
func (f *Federation) asListEvent(ctx context.Context, room id.RoomID, typ, stateKey, sender, eventID string, ts int64, content json.RawMessage) (le policylist.Event, unproven string, err error) {
	le = policylist.Event{Type: typ, StateKey: stateKey, Sender: sender, EventID: eventID, Content: content}
	if sender == f.BotID.String() {
		f.noteOurs(eventID, content)
	}
	kind, ok := policylist.KindOf(typ)
	if !ok || kind == policylist.KindUser {
		return le, "", nil
	}
	var c struct {
		Entity         string `json:"entity"`
		Recommendation string `json:"recommendation"`
		Proof          string `json:"org.caldicott.proof"`
	}
	if json.Unmarshal(content, &c) != nil || c.Entity == "" {
		return le, "", nil // a removal or malformed: judged as the sender's
	}
	req := policy.TrustRequest{EventID: eventID, Sender: sender, TS: ts}
	switch {
	case f.isTrustBot(sender):
		if stateKey != policy.ListRuleKey(c.Entity) {
			return le, fmt.Sprintf("it is not at the list's key for %s", c.Entity), nil
		}
		if req, err = f.trustRequest(ctx, room, c.Proof); errors.Is(err, errProofUnavailable) {
			return le, fmt.Sprintf("our homeserver could not serve the request it cites (%s) for %s; it is read again when the list is next reloaded", c.Proof, proofPatience), nil
		} else if err != nil {
			return le, "", err
		}
		rec, _ := policylist.RecommendationOf(c.Recommendation)
		if problem := policy.TrustProofProblem(req, room.String(), f.Cfg.Federation.Admins, c.Entity, rec == policylist.Ban); problem != "" {
			return le, problem, nil
		}
	case !slices.Contains(f.Cfg.Federation.Admins, sender):
		return le, "", nil // refused by the list: not an admin
	}
	latest, err := f.latestRequest(ctx, c.Entity)
	if err != nil {
		return le, "", err
	}
	if req.TS < latest.TS || (req.TS == latest.TS && latest.EventID != "" && latest.EventID != req.EventID) {
		if req.Sender == sender {
			return le, "", nil // an admin's own older rule: the list keeps it as written
		}
		return le, fmt.Sprintf("the request it cites (%s) is older than %s, already applied about %s", req.EventID, latest.EventID, c.Entity), nil
	}
	if err := f.noteRequest(ctx, c.Entity, req); err != nil {
		return le, "", err
	}
	le.Sender = req.Sender
	return le, "", nil
}

// latestRequest is the newest admin request applied about a server, from
// memory or, after a restart, from the store.
func (f *Federation) latestRequest(ctx context.Context, entity string) (policy.TrustRequest, error) {
	f.mu.RLock()
	latest, ok := f.proofs[entity]
	f.mu.RUnlock()
	if ok {
		return latest, nil
	}
	v, ok, err := f.Store.KV(ctx, requestKey(entity))
	if err != nil || !ok {
		return policy.TrustRequest{}, err
	}
	ts, id, _ := strings.Cut(v, " ")
	latest.TS, _ = strconv.ParseInt(ts, 10, 64)
	latest.EventID = id
	f.mu.Lock()
	f.proofs[entity] = latest
	f.mu.Unlock()
	return latest, nil
}

// noteRequest records req as the newest admin request about a server.
func (f *Federation) noteRequest(ctx context.Context, entity string, req policy.TrustRequest) error {
	if err := f.Store.SetKV(ctx, requestKey(entity), strconv.FormatInt(req.TS, 10)+" "+req.EventID); err != nil {
		return err
	}
	f.mu.Lock()
	f.proofs[entity] = req
	f.mu.Unlock()
	return nil
}

func requestKey(entity string) string { return "federation_request:" + entity }

// trustRequest reads the event a member-trust rule cites, from our own
// homeserver. An event it does not hold, or holds in another room, proves
// nothing (an empty request); a homeserver that cannot answer is an error.
func (f *Federation) trustRequest(ctx context.Context, room id.RoomID, eventID string) (policy.TrustRequest, error) {
	if eventID == "" || !strings.HasPrefix(eventID, "$") {
		return policy.TrustRequest{}, nil
	}
	f.mu.RLock()
	req, ok := f.requests[eventID]
	f.mu.RUnlock()
	if ok {
		return req, nil
	}
	evt, err := f.Bot.GetEvent(ctx, room, id.EventID(eventID))
	if err != nil {
		if errors.Is(err, mautrix.MNotFound) || errors.Is(err, mautrix.MForbidden) {
			return policy.TrustRequest{}, nil
		}
		if f.proofGivenUp(eventID, err) {
			return policy.TrustRequest{}, errProofUnavailable
		}
		return policy.TrustRequest{}, fmt.Errorf("read the request %s a member-trust rule cites: %w", eventID, err)
	}
	f.mu.Lock()
	delete(f.proofFailing, eventID)
	f.mu.Unlock()
	var body struct {
		Body string `json:"body"`
	}
	_ = json.Unmarshal(evt.Content.VeryRaw, &body)
	req = policy.TrustRequest{EventID: evt.ID.String(), RoomID: evt.RoomID.String(), Sender: evt.Sender.String(), Type: evt.Type.Type, Body: body.Body, TS: evt.Timestamp}
	f.mu.Lock()
	f.requests[eventID] = req
	f.mu.Unlock()
	return req, nil
}

// noteOurs remembers a rule our bot published, to write it back as it was
// (its proof included) if someone overwrites it.
func (f *Federation) noteOurs(eventID string, content json.RawMessage) {
	var c map[string]any
	if json.Unmarshal(content, &c) != nil || len(c) == 0 {
		return
	}
	f.mu.Lock()
	f.ours[eventID] = c
	f.mu.Unlock()
}

// configured reports whether server is a member trust by this trust's own
// config: the list alone never removes it.
func (f *Federation) configured(server string) bool {
	return slices.Contains(f.Cfg.Federation.Servers, server)
}

func (f *Federation) isTrustBot(user string) bool {
	if user == f.BotID.String() {
		return true
	}
	return slices.Contains(f.otherBots(), user)
}

// Trusts are the member trusts' servers besides ours: those in config and
// those the list allows, less those it bans.
func (f *Federation) Trusts() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.trustsLocked()
}

func (f *Federation) trustsLocked() []string {
	set := map[string]bool{}
	for _, s := range f.Cfg.Federation.Servers {
		set[s] = true
	}
	for _, s := range f.list.AllowedServers() {
		set[s] = true
	}
	for _, r := range f.list.Rules() {
		// A trust in our own config stays until our config says otherwise.
		if r.Kind == policylist.KindServer && r.Recommendation == policylist.Ban && !f.configured(r.Entity) {
			delete(set, r.Entity)
		}
	}
	delete(set, f.Cfg.Homeserver.Domain)
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// applyTrusts brings the rules' idea of the federation, and so every
// clinical room's server ACL, in line when the member trusts changed.
func (f *Federation) applyTrusts(ctx context.Context, before, after []string) {
	current := f.Requirements().FederationServers
	slices.Sort(current)
	if slices.Equal(before, after) && slices.Equal(after, current) {
		return
	}
	f.SetFederationServers(after)
	f.Log.Info().Strs("trusts", after).Msg("The federation's member trusts changed")
	_ = f.Audit(ctx, f.BotID.String(), "", "federation.trusts", "member trusts now: "+fmt.Sprint(after), map[string]any{"trusts": after})
	if f.TrustsChanged != nil {
		go f.TrustsChanged(context.WithoutCancel(ctx))
	}
}
