package store

import (
	"context"
	"fmt"
	"go.mau.fi/util/dbutil"
	"strings"
)

// Action states in the action log.
const (
	ActionPending = "pending"
	ActionDone    = "done"
	ActionFailed  = "failed"
	ActionDryRun  = "dry_run"
)

// LoggedAction is one action in the action log.
type LoggedAction struct {
	Seq    int64
	TxnID  string
	RoomID string
	Actor  string
	JSON   []byte
	State  string
	// Result is what the homeserver returned that later steps need (a
	// created room's ID), or why the action failed.
	Result string
}

// PlanActions records actions as pending, before any is carried out, and
// returns what the log held before for any of their transaction IDs: an
// action decided again (the same input handled again after a crash) keeps
// its first record, so a done action is never done twice, and a pending one
// is known to be resumed (it may have reached the homeserver). In a fenced
// store nothing is recorded unless this process still holds the leader's
// lease (ErrNotLeader): a leader paused past its lease cannot act.
func (s *Store) PlanActions(ctx context.Context, actions []LoggedAction) (map[string]LoggedAction, error) {
	known := make(map[string]LoggedAction, len(actions))
	if len(actions) == 0 {
		return known, nil
	}
	now := s.now().UnixMilli()
	err := s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		if err := s.checkLeader(ctx); err != nil {
			return err
		}
		ids := make([]any, len(actions))
		marks := make([]string, len(actions))
		for i, a := range actions {
			ids[i], marks[i] = a.TxnID, fmt.Sprintf("$%d", i+1)
		}
		rows, err := s.db.Query(ctx, `SELECT seq, txn_id, room_id, actor, action_json, state, result FROM action_log WHERE txn_id IN (`+strings.Join(marks, ",")+`)`, ids...)
		if err != nil {
			return fmt.Errorf("read actions: %w", err)
		}
		for rows.Next() {
			a, err := scanAction(rows)
			if err != nil {
				rows.Close()
				return err
			}
			known[a.TxnID] = a
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return err
		}
		rows.Close()
		for _, a := range actions {
			if _, ok := known[a.TxnID]; ok {
				continue
			}
			if _, err := s.db.Exec(ctx, `INSERT INTO action_log (txn_id, room_id, actor, action_json, state, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (txn_id) DO NOTHING`,
				a.TxnID, a.RoomID, a.Actor, string(a.JSON), ActionPending, now); err != nil {
				return fmt.Errorf("record action %s: %w", a.TxnID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("plan %d actions: %w", len(actions), err)
	}
	return known, nil
}

// CompleteAction records an action's outcome and its audit entry in one
// database transaction: the log and the audit trail never disagree. Fenced
// like PlanActions.
func (s *Store) CompleteAction(ctx context.Context, txnID, state, result string, audit AuditEntry) error {
	err := s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		if err := s.checkLeader(ctx); err != nil {
			return err
		}
		if _, err := s.db.Exec(ctx, `UPDATE action_log SET state = $1, result = $2, done_at = $3 WHERE txn_id = $4`, state, result, s.now().UnixMilli(), txnID); err != nil {
			return fmt.Errorf("mark action %s %s: %w", txnID, state, err)
		}
		_, err := s.appendAudit(ctx, audit, false) // the lease is checked above
		return err
	})
	if err != nil {
		return fmt.Errorf("complete action %s: %w", txnID, err)
	}
	return nil
}

// PendingActions lists actions decided but not finished, oldest first.
func (s *Store) PendingActions(ctx context.Context, limit int) ([]LoggedAction, error) {
	rows, err := s.db.Query(ctx, `SELECT seq, txn_id, room_id, actor, action_json, state, result FROM action_log WHERE done_at IS NULL ORDER BY seq LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list pending actions: %w", err)
	}
	defer rows.Close()
	var out []LoggedAction
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// PruneActions forgets finished actions older than before (unix ms): by
// then no input that decided them can be handled again.
func (s *Store) PruneActions(ctx context.Context, beforeMs int64) (int64, error) {
	res, err := s.db.Exec(ctx, `DELETE FROM action_log WHERE done_at IS NOT NULL AND done_at < $1`, beforeMs)
	if err != nil {
		return 0, fmt.Errorf("prune action log: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func scanAction(rows dbutil.Rows) (LoggedAction, error) {
	var a LoggedAction
	var js string
	if err := rows.Scan(&a.Seq, &a.TxnID, &a.RoomID, &a.Actor, &js, &a.State, &a.Result); err != nil {
		return a, fmt.Errorf("scan action: %w", err)
	}
	a.JSON = []byte(js)
	return a, nil
}
