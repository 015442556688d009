package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Lease is one tenure as leader: the process that holds it and the epoch
// its takeover began. Epoch 0 holds nothing.
type Lease struct {
	Holder string
	Epoch  int64
}

// Rules is what a process leads by: a fingerprint of the config that
// decides policy, and the binary's version. Recorded with the lease by
// the process that takes or renews it (Store.LeadBy).
type Rules struct {
	Fingerprint string
	Version     string
}

// LeadBy records r with the lease whenever this store takes or renews it.
func (s *Store) LeadBy(r Rules) { s.rules.Store(&r) }

// leadRules is what LeadBy recorded, the zero Rules before it.
func (s *Store) leadRules() Rules {
	if r := s.rules.Load(); r != nil {
		return *r
	}
	return Rules{}
}

// LeaseState is the lease as the database has it, for status and tests.
type LeaseState struct {
	Lease
	// Rules are the holder's, as it last recorded them.
	Rules Rules
	// Since is when the holder took the lease at this epoch, by the
	// database's clock (zero when not recorded).
	Since time.Time
	// ExpiresIn is how long the lease has left by the database's clock
	// (negative: it has lapsed).
	ExpiresIn time.Duration
	// Released: its holder gave it up (a clean stop), or no one has held
	// it yet; otherwise a lapsed lease's holder stopped without handing
	// over: killed, crashed, frozen or cut off from the database.
	Released bool
}

// ErrNotLeader refuses a write fenced by the lease (the action log, the
// appservice's audit entries) in a process that does not hold it at the
// epoch it acts for: another Caldicott has taken over. It is the store's
// answer, not a failure of the database: never worth retrying, and the
// caller stops and does nothing.
var ErrNotLeader = errors.New("this Caldicott is not the leader (another holds the lease); nothing was done")

// leaseNow is the database's clock in Unix milliseconds. The lease is a
// promise between processes on different hosts; their one shared clock is
// the database's, so a host whose clock runs fast cannot take the lease
// early. Store.Now stays the clock of every date a rule or a record reads.
func (s *Store) leaseNow() string {
	if s.Engine() == Postgres {
		return `(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT`
	}
	return `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`
}

// AcquireLease takes the lease for holder, or renews it, in one statement:
// it is taken when it has lapsed (or was never held), with the epoch moved
// on by one; it is renewed, keeping its epoch, while holder still holds it
// at epoch held (0 when holding nothing). Either way it then lasts ttl from
// now by the database's clock. ErrNotLeader: another process holds it.
func (s *Store) AcquireLease(ctx context.Context, holder string, held int64, ttl time.Duration) (Lease, error) {
	now := s.leaseNow()
	q := `UPDATE leader_lease SET
		epoch = CASE WHEN holder = $1 AND epoch = $2 THEN epoch ELSE epoch + 1 END,
		since = CASE WHEN holder = $1 AND epoch = $2 THEN since ELSE ` + now + ` END,
		holder = $1, expires_at = ` + now + ` + $3, fingerprint = $4, version = $5
		WHERE id = 1 AND (expires_at <= ` + now + ` OR (holder = $1 AND epoch = $2))
		RETURNING epoch`
	var epoch int64
	r := s.leadRules()
	switch err := s.db.QueryRow(ctx, q, holder, held, ttl.Milliseconds(), r.Fingerprint, r.Version).Scan(&epoch); {
	case errors.Is(err, sql.ErrNoRows):
		return Lease{}, ErrNotLeader
	case err != nil:
		return Lease{}, fmt.Errorf("take or renew the leader's lease: %w", err)
	}
	return Lease{Holder: holder, Epoch: epoch}, nil
}

// TakeLeaseFrom takes the lease from the tenure from, lapsed or not, at the
// next epoch: for a process that knows from's holder has gone (a restart
// on the same host after a crash). ErrNotLeader: from no longer holds it.
func (s *Store) TakeLeaseFrom(ctx context.Context, holder string, from Lease, ttl time.Duration) (Lease, error) {
	q := `UPDATE leader_lease SET epoch = epoch + 1, holder = $1, expires_at = ` + s.leaseNow() + ` + $2, since = ` + s.leaseNow() + `,
		fingerprint = $5, version = $6
		WHERE id = 1 AND holder = $3 AND epoch = $4 RETURNING epoch`
	var epoch int64
	r := s.leadRules()
	switch err := s.db.QueryRow(ctx, q, holder, ttl.Milliseconds(), from.Holder, from.Epoch, r.Fingerprint, r.Version).Scan(&epoch); {
	case errors.Is(err, sql.ErrNoRows):
		return Lease{}, ErrNotLeader
	case err != nil:
		return Lease{}, fmt.Errorf("take over the leader's lease: %w", err)
	}
	return Lease{Holder: holder, Epoch: epoch}, nil
}

// ReleaseLease gives the lease up at once, if l still holds it, so a
// standby need not wait for it to lapse (a leader stopping cleanly). Its
// mark, expires_at 0, is one no lapse leaves, so the next leader can tell a
// clean handover from a takeover (LeaseState.Released).
func (s *Store) ReleaseLease(ctx context.Context, l Lease) error {
	if _, err := s.db.Exec(ctx, `UPDATE leader_lease SET expires_at = 0 WHERE id = 1 AND holder = $1 AND epoch = $2`, l.Holder, l.Epoch); err != nil {
		return fmt.Errorf("release the leader's lease: %w", err)
	}
	return nil
}

// LeaseHolder reads who holds the lease and for how long.
func (s *Store) LeaseHolder(ctx context.Context) (LeaseState, error) {
	var st LeaseState
	var expires, left, since int64
	err := s.db.QueryRow(ctx, `SELECT holder, epoch, expires_at, expires_at - `+s.leaseNow()+`, fingerprint, version, since FROM leader_lease WHERE id = 1`).
		Scan(&st.Holder, &st.Epoch, &expires, &left, &st.Rules.Fingerprint, &st.Rules.Version, &since)
	if err != nil {
		return st, fmt.Errorf("read the leader's lease: %w", err)
	}
	st.ExpiresIn = time.Duration(left) * time.Millisecond
	st.Released = expires == 0 // ReleaseLease's mark, and the row as first made
	if since > 0 {
		st.Since = time.UnixMilli(since).UTC()
	}
	return st, nil
}

// fence is the lease a fenced store's writes act for.
type fence struct {
	on    atomic.Bool
	lease atomic.Pointer[Lease]
}

// Fence makes this store's action-log writes and audit appends check, in
// their own transaction, that l still holds the lease; the zero Lease
// refuses them all (a standby, a leader that lost its lease). A store never
// fenced writes freely: the command-line tools, the gatekeeper's process.
func (s *Store) Fence(l Lease) {
	s.fence.lease.Store(&l)
	s.fence.on.Store(true)
}

// fencedIdleLimit is how long (ms) PostgreSQL lets a fenced transaction
// sit idle before it ends the session: a leader frozen in the middle of
// one (SIGSTOP, a paused VM) would otherwise hold the lease's row, and the
// audit log's lock, for as long as it stays frozen, and no standby could
// take over. The leader's own fenced transactions are a few statements
// long and never wait on anything else between them.
const fencedIdleLimit = "2000"

// checkLeader refuses with ErrNotLeader unless the fence's lease still
// holds; called inside the write's transaction. On PostgreSQL the lease's
// row is locked for the rest of the transaction, so a takeover waits for
// the write to commit and the new leader's replay of pending actions sees
// it, and the transaction is ended if it idles (fencedIdleLimit); on
// SQLite the write transaction already holds the database's lock.
func (s *Store) checkLeader(ctx context.Context) error {
	if !s.fence.on.Load() {
		return nil
	}
	l := s.fence.lease.Load()
	if l == nil || l.Epoch == 0 {
		return ErrNotLeader
	}
	q := `SELECT epoch FROM leader_lease WHERE id = 1 AND holder = $1 AND epoch = $2`
	if s.Engine() == Postgres {
		q = `SELECT epoch, set_config('idle_in_transaction_session_timeout', '` + fencedIdleLimit + `', true)
			FROM leader_lease WHERE id = 1 AND holder = $1 AND epoch = $2 FOR SHARE`
	}
	var epoch int64
	var err error
	if s.Engine() == Postgres {
		var limit string
		err = s.db.QueryRow(ctx, q, l.Holder, l.Epoch).Scan(&epoch, &limit)
	} else {
		err = s.db.QueryRow(ctx, q, l.Holder, l.Epoch).Scan(&epoch)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotLeader
	case err != nil:
		return fmt.Errorf("check the leader's lease: %w", err)
	}
	return nil
}

// Unfenced is the store for a writer whose audit entries are not the
// leader's: the gatekeeper, whose replicas record their own refusals on
// every process whether or not it leads.
type Unfenced struct{ *Store }

// Unfenced returns the store for writers outside the lease (see the type).
func (s *Store) Unfenced() Unfenced { return Unfenced{s} }

// AppendAudit appends without checking the lease.
func (u Unfenced) AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	return u.appendAudit(ctx, e, false)
}
