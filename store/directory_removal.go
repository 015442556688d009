package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// removalsKept is how long the removal log keeps a row: longer than the
// longest window a guard may count over (config.MaxRemovalWindow, 30 days).
const removalsKept = 31 * 24 * time.Hour

const activeStatus = "active"

// ConfirmedSource is the source a confirmed removal is logged under, so the
// guard that held it does not count it again: "confirmed:scim".
func ConfirmedSource(source string) string { return "confirmed:" + source }

// ActionDirectoryHeld is the audit action of a directory update or removal
// held for an IG admin's confirmation. Its detail names people by user ID.
const ActionDirectoryHeld = "directory_held"

// removals lists, in order, the people final moves from active to anything else.
func removals(prev map[string]storedStaff, final map[string]StaffRecord, order []string) []string {
	var out []string
	for _, id := range order {
		if p, ok := prev[id]; ok && p.status == activeStatus && final[id].Status != activeStatus {
			out = append(out, id)
		}
	}
	return out
}

// logRemovals records removals inside a directoryTxn under source, ends any
// hold on them (they are done) and forgets rows older than any window.
func (s *Store) logRemovals(ctx context.Context, removing []string, source func(userID string) string) error {
	if len(removing) == 0 {
		return nil
	}
	now := s.now().UnixMilli()
	for _, id := range removing {
		if _, err := s.db.Exec(ctx, `INSERT INTO directory_removal (user_id, source, removed_at) VALUES ($1, $2, $3)`, id, source(id), now); err != nil {
			return fmt.Errorf("log the removal of %s: %w", id, err)
		}
		if _, err := s.db.Exec(ctx, `DELETE FROM directory_held_removal WHERE user_id = $1`, id); err != nil {
			return fmt.Errorf("end the held removal of %s: %w", id, err)
		}
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM directory_removal WHERE removed_at < $1`, now-removalsKept.Milliseconds()); err != nil {
		return fmt.Errorf("prune the removal log: %w", err)
	}
	return nil
}

// RemovalsSince counts the people a source removed (active to suspended or
// left) at or after since.
func (s *Store) RemovalsSince(ctx context.Context, source string, since time.Time) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM directory_removal WHERE source = $1 AND removed_at >= $2`, source, since.UnixMilli()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count %s removals: %w", source, err)
	}
	return n, nil
}

// HeldRemoval is one removal refused by the mass-removal guard.
type HeldRemoval struct {
	UserID string
	// Status is what the removal would have made them: suspended or left.
	Status    string
	RefusedAt time.Time
}

// HoldRemoval keeps a removal the guard refused, until an IG admin confirms
// it or it is older than window, and audits the refusal (actor, reason).
// first is true when no removal from source was held: the one to report.
func (s *Store) HoldRemoval(ctx context.Context, source string, h HeldRemoval, window time.Duration, actor, reason string) (first bool, err error) {
	detail, err := json.Marshal(map[string]string{"user_id": h.UserID, "status": h.Status})
	if err != nil {
		return false, fmt.Errorf("encode audit detail: %w", err)
	}
	now := s.now().UnixMilli()
	err = s.directoryTxn(ctx, true, func(ctx context.Context, lockAudit func()) error {
		if _, err := s.db.Exec(ctx, `DELETE FROM directory_held_removal WHERE source = $1 AND refused_at < $2`, source, now-window.Milliseconds()); err != nil {
			return err
		}
		var n int
		if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM directory_held_removal WHERE source = $1`, source).Scan(&n); err != nil {
			return err
		}
		first = n == 0
		if _, err := s.db.Exec(ctx, `INSERT INTO directory_held_removal (source, user_id, status, refused_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (source, user_id) DO UPDATE SET status = excluded.status, refused_at = excluded.refused_at`, source, h.UserID, h.Status, now); err != nil {
			return err
		}
		lockAudit()
		_, err := s.appendAuditLocked(ctx, AuditEntry{Actor: actor, Action: ActionDirectoryHeld, Reason: reason, Detail: string(detail)})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("hold a %s removal: %w", source, err)
	}
	return first, nil
}

// HeldRemovals lists a source's held removals refused after since, oldest first.
func (s *Store) HeldRemovals(ctx context.Context, source string, since time.Time) ([]HeldRemoval, error) {
	rows, err := s.db.Query(ctx, `SELECT user_id, status, refused_at FROM directory_held_removal WHERE source = $1 AND refused_at >= $2 ORDER BY refused_at, user_id`, source, since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("list held %s removals: %w", source, err)
	}
	defer rows.Close()
	var out []HeldRemoval
	for rows.Next() {
		var h HeldRemoval
		var at int64
		if err := rows.Scan(&h.UserID, &h.Status, &at); err != nil {
			return nil, fmt.Errorf("list held %s removals: %w", source, err)
		}
		h.RefusedAt = time.UnixMilli(at)
		out = append(out, h)
	}
	return out, rows.Err()
}

// ConfirmedRemovals says what confirming a source's held removals did.
type ConfirmedRemovals struct {
	// Applied were made; Skipped were not, because the person's record
	// changed after the refusal (the identity provider has spoken since)
	// or they are no longer active.
	Applied, Skipped []string
	Changes          []DirectoryChange
}

// ConfirmRemovals applies, for an IG admin, the removals from source held
// since since: each whose person is still active with the record as it was
// when refused. In one transaction it journals and audits them (by), logs
// them as confirmed (so the guard does not count them again) and marks the
// confirmation, after which the guard counts afresh. ErrNotFound when
// nothing was held.
func (s *Store) ConfirmRemovals(ctx context.Context, source string, since time.Time, by DirectoryAuthor) (ConfirmedRemovals, error) {
	var out ConfirmedRemovals
	now := s.now().UnixMilli()
	err := s.directoryTxn(ctx, true, func(ctx context.Context, lockAudit func()) error {
		held, err := s.HeldRemovals(ctx, source, since)
		if err != nil {
			return err
		}
		if len(held) == 0 {
			return ErrNotFound
		}
		for _, h := range held {
			res, err := s.db.Exec(ctx, `UPDATE staff SET status = $1, updated_at = $2 WHERE user_id = $3 AND status = $4 AND updated_at <= $5`,
				h.Status, now, h.UserID, activeStatus, h.RefusedAt.UnixMilli())
			if err != nil {
				return fmt.Errorf("apply the held removal of %s: %w", h.UserID, err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				out.Applied = append(out.Applied, h.UserID)
				out.Changes = append(out.Changes, DirectoryChange{UserID: h.UserID, Kind: ChangeStatus})
			} else {
				out.Skipped = append(out.Skipped, h.UserID)
			}
		}
		if _, err := s.db.Exec(ctx, `DELETE FROM directory_held_removal WHERE source = $1`, source); err != nil {
			return err
		}
		if err := s.SetKV(ctx, removalConfirmKey(source), fmt.Sprint(now)); err != nil {
			return err
		}
		if err := s.journal(ctx, out.Changes); err != nil {
			return err
		}
		confirmed := ConfirmedSource(source)
		if err := s.logRemovals(ctx, out.Applied, func(string) string { return confirmed }); err != nil {
			return err
		}
		if len(out.Changes) == 0 {
			return nil
		}
		e, err := directoryAuditEntry(by, out.Changes)
		if err != nil {
			return err
		}
		lockAudit()
		_, err = s.appendAuditLocked(ctx, e)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return out, ErrNotFound
	}
	if err != nil {
		return ConfirmedRemovals{}, fmt.Errorf("confirm held %s removals: %w", source, err)
	}
	return out, nil
}

func removalConfirmKey(source string) string { return "removals_confirmed:" + source }

// markConfirmed records, inside a directoryTxn, that the sources of records
// had their removals confirmed now.
func (s *Store) markConfirmed(ctx context.Context, records map[string]StaffRecord) error {
	now := fmt.Sprint(s.now().UnixMilli())
	done := map[string]bool{}
	for _, r := range records {
		if !done[r.Source] {
			done[r.Source] = true
			if err := s.SetKV(ctx, removalConfirmKey(r.Source), now); err != nil {
				return err
			}
		}
	}
	return nil
}

// RemovalsConfirmedAt is when an IG admin last confirmed a source's held
// removals (zero if never): the guard counts only removals after it.
func (s *Store) RemovalsConfirmedAt(ctx context.Context, source string) (time.Time, error) {
	raw, ok, err := s.KV(ctx, removalConfirmKey(source))
	if err != nil || !ok {
		return time.Time{}, err
	}
	var ms int64
	if _, err := fmt.Sscan(raw, &ms); err != nil {
		return time.Time{}, fmt.Errorf("read when %s removals were confirmed: %w", source, err)
	}
	return time.UnixMilli(ms), nil
}
