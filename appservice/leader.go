package appservice

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/caldicott/caldicott/store"
)

// leadership is this process's standing in the leader's lease: every
// Caldicott on one database accepts and stores transactions, and the one
// that holds the lease acts (runWorker). The lease is a row in the store,
// taken and renewed in one statement by the database's clock; the
// store's fence makes every action-log write and audit append check it.
type leadership struct {
	// holder names this process in the lease: host, pid and a random part.
	holder string
	// epoch is the lease's epoch while this process leads, 0 on standby.
	epoch atomic.Int64
	// rules are what this process leads by (config.RulesFingerprint); mismatch,
	// on standby, the lease as read while its holder's rules differ;
	// changedFrom, the lease taken over from such a holder, to be told.
	rules       store.Rules
	mismatch    atomic.Pointer[store.LeaseState]
	changedFrom atomic.Pointer[store.LeaseState]
	// tookOver is the tenure's takeover from a leader that stopped without
	// handing over, to be told once it is enforcing (takeover.go).
	tookOver atomic.Pointer[takeover]
	// db hears whether the lease's statements reach the database.
	db dbHealth
}

// newHolder names this process for the lease: readable in the database
// (which host, which pid), unique across restarts by its random part.
func newHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Leading reports whether this process holds the leader's lease.
func (s *Service) Leading() bool { return s.leader.epoch.Load() != 0 }

// runLeadership stands by until this process takes the lease, leads until
// it loses it, and stands by again, until ctx ends. A standby writes no
// action and no audit entry (the store is fenced with no lease).
func (s *Service) runLeadership(ctx context.Context) error {
	s.Store.Fence(store.Lease{})
	rules, err := s.leadRules()
	if err != nil {
		return err
	}
	s.leader.rules = rules
	s.Store.LeadBy(rules)
	ttl, every := s.Cfg.HA.Lease.Duration, s.Cfg.HA.Renew()
	s.Log.Info().Str("holder", s.leader.holder).Dur("lease", ttl).Msg("Standing by for the leader's lease")
	for {
		start := time.Now()
		l, err := s.takeLease(ctx, ttl)
		if ctx.Err() == nil {
			s.leader.db.note(err, start) // said once, until the database answers again
		}
		if err == nil {
			s.lead(ctx, l, start.Add(ttl))
		}
		if ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// takeLease takes the lease if it has lapsed, or at once from a holder on
// this host whose process has gone (a restart after a crash need not wait
// for the dead process's lease to lapse). A holder that leads by other
// rules is noted (noteLeaderRules) and, once taken over, told of.
func (s *Service) takeLease(ctx context.Context, ttl time.Duration) (store.Lease, error) {
	cur, err := s.Store.LeaseHolder(ctx)
	if err != nil {
		return store.Lease{}, err
	}
	s.noteLeaderRules(cur)
	l, err := s.Store.AcquireLease(ctx, s.leader.holder, 0, ttl)
	if errors.Is(err, store.ErrNotLeader) && goneFromThisHost(cur.Holder) {
		s.Log.Info().Str("holder", cur.Holder).Msg("The leader's lease is held by a process on this host that has gone; taking it over")
		l, err = s.Store.TakeLeaseFrom(ctx, s.leader.holder, cur.Lease, ttl)
	}
	if seen := s.leader.mismatch.Load(); err == nil && seen != nil {
		// Availability first: the leader seen leading by other rules has
		// gone, so this process leads by its own, and says so. (A lease
		// released or lapsed before this process saw its holder live, as
		// at a restart with a new config, is not a failover to tell of.)
		s.leader.changedFrom.Store(seen)
		s.leader.mismatch.Store(nil)
		s.metrics.ConfigMismatch.Set(0)
	}
	if err == nil {
		s.noteTakeover(cur, l)
		// The last leader acted until its lease lapsed at the latest (or
		// until now, when its process was found gone or it handed over):
		// what a replay looks for shows by then and the history's lag.
		lastActed := time.Now()
		if cur.ExpiresIn < 0 && !cur.Released {
			lastActed = lastActed.Add(cur.ExpiresIn)
		}
		s.Exec.HistorySettlesAfter(lastActed)
	}
	return l, err
}

// goneFromThisHost reports whether holder names a process on this host
// that no longer runs. Another host's process is never judged: only its
// lease's lapse says it has gone.
func goneFromThisHost(holder string) bool {
	host, _ := os.Hostname()
	parts := strings.Split(holder, "/")
	if len(parts) != 3 || host == "" || parts[0] != host {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// lead runs the leader's work (runWorker) while the lease holds, renewing
// it every third of its length, and stops it all at once when the lease is
// lost: taken over, or not renewed by deadline (the database unreachable,
// or this process frozen). The fence goes first, so nothing already
// running can write an action or an audit entry after the loss.
func (s *Service) lead(ctx context.Context, l store.Lease, deadline time.Time) {
	s.Store.Fence(l)
	s.leader.epoch.Store(l.Epoch)
	s.metrics.Leader.Set(1)
	s.metrics.LeaderEpoch.Set(float64(l.Epoch))
	s.Log.Info().Int64("epoch", l.Epoch).Msg("Leading: this Caldicott now acts")
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.runWorker(wctx)
	}()
	go s.Store.ListenInbox(s.Log.WithContext(wctx), s.wakeWorker)
	if from := s.leader.changedFrom.Swap(nil); from != nil {
		go s.tellRulesChanged(wctx, l, *from)
	}
	why := s.keepLease(ctx, l, deadline, done)
	s.Store.Fence(store.Lease{})
	s.leader.epoch.Store(0)
	s.metrics.Leader.Set(0)
	cancel()
	if why != "" {
		s.Log.Warn().Int64("epoch", l.Epoch).Str("why", why).Msg("No longer leading: stopped acting; standing by")
	}
	<-done
	if why == "" {
		// Stopping cleanly: hand the lease over now, not when it lapses.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer rcancel()
		if err := s.Store.ReleaseLease(rctx, l); err != nil {
			s.Log.Warn().Err(err).Msg("Could not release the leader's lease; the standby takes it when it lapses")
		}
	}
}

// keepLease renews l until it is lost, ctx ends or the worker stops, and
// says why it was lost ("" otherwise). The deadline is a whole lease after
// the last renewal was sent, by this host's monotonic clock: the database
// stamped that renewal no earlier, so its lease lapses no earlier.
func (s *Service) keepLease(ctx context.Context, l store.Lease, deadline time.Time, done <-chan struct{}) string {
	ttl := s.Cfg.HA.Lease.Duration
	tick := time.NewTicker(s.Cfg.HA.Renew())
	defer tick.Stop()
	failing := false
	for {
		expire := time.NewTimer(time.Until(deadline))
		select {
		case <-ctx.Done():
			expire.Stop()
			return ""
		case <-done:
			expire.Stop()
			return ""
		case <-expire.C:
			return fmt.Sprintf("the lease was not renewed for %s (database unreachable or this process paused)", ttl)
		case <-tick.C:
			expire.Stop()
		}
		sent := time.Now()
		rctx, cancel := context.WithDeadline(ctx, deadline)
		got, err := s.Store.AcquireLease(rctx, s.leader.holder, l.Epoch, ttl)
		cancel()
		if ctx.Err() == nil {
			s.leader.db.note(err, sent)
		}
		switch {
		case err == nil && got.Epoch == l.Epoch:
			deadline, failing = sent.Add(ttl), false
		case err == nil:
			// Lapsed, taken by another and lapsed again, and now ours at a
			// new epoch: a new tenure, begun afresh.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ttl)
			_ = s.Store.ReleaseLease(rctx, got)
			cancel()
			return "the lease lapsed and another process held it meanwhile"
		case errors.Is(err, store.ErrNotLeader):
			return "another Caldicott took over the lease"
		case !failing && ctx.Err() == nil:
			failing = true
			s.Log.Warn().Err(err).Dur("stops_in", time.Until(deadline)).Msg("Could not renew the leader's lease; still leading until it would lapse")
		}
	}
}

// readyHandler answers /ready: 200 on the leader, 503 on a standby, with
// the role in the body, for a load balancer that sends the admin API to
// the leader (transactions go to any process: /health). A leader's body
// also says once it enforces and once it has caught up.
func (s *Service) readyHandler(w http.ResponseWriter, _ *http.Request) {
	if epoch := s.leader.epoch.Load(); epoch != 0 {
		_, _ = fmt.Fprintf(w, "leader\nepoch %d\n%s%s", epoch, s.startLine(), s.homeserverLine())
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte("standby\n" + s.mismatchLine()))
}

// startLine is /ready's line on how far the start has gone: "" before
// this process enforces.
func (s *Service) startLine() string {
	select {
	case <-s.caughtUp:
		return "enforcing; caught up\n"
	default:
	}
	select {
	case <-s.ready:
		return "enforcing; start-up reconciliation running\n"
	default:
		return ""
	}
}
