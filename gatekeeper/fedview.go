package gatekeeper

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Records is the part of the store the gatekeeper reads the federation
// from (as the appservice last read it) and writes its own records to:
// its refusals (the audit log) and its standing towards the federation
// view, which the appservice tells the management room about.
type Records interface {
	Now() time.Time
	FederationView(ctx context.Context) (store.FederationView, error)
	SetGatekeeperState(ctx context.Context, st store.GatekeeperState) error
	AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error)
}

// Fail states (the caldicott_gatekeeper_fail_state gauge, the log, the
// store's record): what the gatekeeper can trust now.
const (
	// StateOK: the federation view is fresh (or no list is configured).
	StateOK = store.GatekeeperOK
	// StateListMissing: a list is configured and the appservice has not
	// written a view yet; the members are federation.servers.
	StateListMissing = store.GatekeeperListMissing
	// StateListStale: the view is older than gatekeeper.max_list_age; the
	// members are federation.servers.
	StateListStale = store.GatekeeperListStale
	// StateStoreUnavailable: the store could not be read or written last
	// time; the last good view serves until it is too old.
	StateStoreUnavailable = "store_unavailable"
)

// failStates lists every state, for the gauge.
var failStates = []string{StateOK, StateListMissing, StateListStale, StateStoreUnavailable}

// viewRefresh is how often the view is read again (by the store's clock).
const viewRefresh = 5 * time.Second

// storeTimeout bounds one read or write of the store on a request's path.
const storeTimeout = 2 * time.Second

// fedView is the federation as the gatekeeper knows it: federation.servers
// from config, always, and the view the appservice last wrote while it is
// younger than maxAge. It never reads the policy list itself.
type fedView struct {
	rec            Records // nil: config only, nothing recorded
	own            string
	configured     []string
	listConfigured bool
	maxAge         time.Duration
	// report is told of the state after every read (log, metrics, the
	// store's record); was is the state before.
	report func(ctx context.Context, s fedSnapshot, was string)

	// refreshing lets one caller read the store at a time; the others use
	// what is cached.
	refreshing sync.Mutex
	mu         sync.RWMutex
	snap       fedSnapshot
}

// fedSnapshot is what one read of the store left.
type fedSnapshot struct {
	// view is the last view read; nil when none was.
	view *store.FederationView
	bans *listBans
	// readAt is when the store was last tried (the store's clock).
	readAt time.Time
	// storeErr is why the store failed last time it was used; nil if it did not.
	storeErr error
	// state is the state last reported.
	state string
}

// current is the federation as known now, read again from the store when
// the cached view is older than viewRefresh.
func (v *fedView) current(ctx context.Context) fedSnapshot {
	v.mu.RLock()
	s := v.snap
	v.mu.RUnlock()
	if v.rec == nil || (!s.readAt.IsZero() && v.rec.Now().Sub(s.readAt) < viewRefresh) {
		return s
	}
	if !v.refreshing.TryLock() {
		return s // another request is reading it
	}
	defer v.refreshing.Unlock()
	return v.refresh(ctx)
}

// refresh reads the view again now; the caller holds refreshing.
func (v *fedView) refresh(ctx context.Context) fedSnapshot {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	// Read without a list too: the read says whether the store answers.
	view, err := v.rec.FederationView(ctx)
	v.mu.Lock()
	v.snap.readAt = v.rec.Now()
	switch {
	case err == nil && v.listConfigured:
		v.snap.view, v.snap.bans, v.snap.storeErr = &view, newListBans(view.Banned), nil
	case err == nil, errors.Is(err, store.ErrNotFound):
		v.snap.storeErr = nil
	default:
		v.snap.storeErr = err // the last good view stays
	}
	v.mu.Unlock()
	return v.settle(ctx)
}

// noteStore records how a write to the store went (an audit entry): a
// failure, or a recovery, is a change of state.
func (v *fedView) noteStore(ctx context.Context, err error) {
	v.mu.RLock()
	was := v.snap.storeErr
	v.mu.RUnlock()
	if (was == nil) == (err == nil) {
		return
	}
	v.refreshing.Lock()
	defer v.refreshing.Unlock()
	v.mu.Lock()
	v.snap.storeErr = err
	v.mu.Unlock()
	v.settle(ctx)
}

// settle works out the state and reports it (the reporter logs and
// records only changes); the caller holds refreshing, so states are
// reported in order.
func (v *fedView) settle(ctx context.Context) fedSnapshot {
	v.mu.Lock()
	was := v.snap.state
	v.snap.state = v.stateOf(v.snap)
	s := v.snap
	v.mu.Unlock()
	if v.report != nil {
		v.report(ctx, s, was)
	}
	return s
}

// stateOf is the state a snapshot puts the gatekeeper in.
func (v *fedView) stateOf(s fedSnapshot) string {
	switch {
	case s.storeErr != nil:
		return StateStoreUnavailable
	case !v.listConfigured:
		return StateOK
	case s.view == nil:
		return StateListMissing
	case !v.fresh(s):
		return StateListStale
	}
	return StateOK
}

// fresh: the snapshot holds a view young enough to trust.
func (v *fedView) fresh(s fedSnapshot) bool {
	return s.view != nil && v.listConfigured && v.rec != nil && v.rec.Now().Sub(s.view.UpdatedAt) <= v.maxAge
}

// members are the other trusts' servers now: federation.servers, and the
// view's while it is fresh.
func (v *fedView) members(s fedSnapshot) []string {
	if !v.fresh(s) {
		return v.configured
	}
	return append(slices.Clip(v.configured), s.view.Servers...)
}

// onlyInStaleView: server is a member only by a view too old to trust.
func (v *fedView) onlyInStaleView(s fedSnapshot, server string) bool {
	return s.view != nil && !v.fresh(s) && !policy.InFederation(server, v.configured) && policy.InFederation(server, s.view.Servers)
}

// banReason is why another trust published user as barred from clinical
// rooms ("" if it did not). A view too old still bars whom it barred:
// refusing someone since let back in is the safe side. known is false when
// no view could be read because the store failed: the bans are unknown.
func (v *fedView) banReason(s fedSnapshot, user string) (reason string, known bool) {
	if serverOf(user) == v.own {
		return "", true // this trust's directory decides
	}
	if s.view == nil {
		return "", !(v.listConfigured && s.storeErr != nil)
	}
	reason, _ = s.bans.reason(user)
	return reason, true
}
