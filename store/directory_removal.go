package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// removalsKept is how long the removal log keeps a row: longer than the
// longest window a guard may count over (config.MaxRemovalWindow, 30 days).
const removalsKept = 31 * 24 * time.Hour

// maxHeldIDs bounds the user IDs a hold remembers; the rest are counted.
const maxHeldIDs = 50

const activeStatus = "active"

// removals lists, in order, the people final moves from active to anything else.
func removals(prev, final map[string]StaffRecord, order []string) []string {
	var out []string
	for _, id := range order {
		if p, ok := prev[id]; ok && p.Status == activeStatus && final[id].Status != activeStatus {
			out = append(out, id)
		}
	}
	return out
}

// logRemovals records removals inside a directoryTxn, by the source of the
// record that removed them, and forgets rows older than any window.
func (s *Store) logRemovals(ctx context.Context, removing []string, final map[string]StaffRecord) error {
	if len(removing) == 0 {
		return nil
	}
	now := s.now().UnixMilli()
	for _, id := range removing {
		if _, err := s.db.Exec(ctx, `INSERT INTO directory_removal (user_id, source, removed_at) VALUES ($1, $2, $3)`, id, final[id].Source, now); err != nil {
			return fmt.Errorf("log the removal of %s: %w", id, err)
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

// RemovalHold is a source's removals refused by the mass-removal guard and
// not yet confirmed.
type RemovalHold struct {
	// Since is the first refusal.
	Since time.Time `json:"-"`
	// Refused counts refused requests; UserIDs names the first few people.
	Refused int      `json:"refused"`
	UserIDs []string `json:"user_ids"`
	SinceMs int64    `json:"since"`
}

func removalHoldKey(source string) string    { return "removals_held:" + source }
func removalConfirmKey(source string) string { return "removals_confirmed:" + source }

// ActionDirectoryHeld is the audit action of a directory update or removal
// held for an IG admin's confirmation. Its detail names people by user ID.
const ActionDirectoryHeld = "directory_held"

// HoldRemoval records that a removal of userID from source was refused and
// audits it (actor, reason). first is true when no hold was in force: the
// one refusal to report.
func (s *Store) HoldRemoval(ctx context.Context, source, userID, actor, reason string) (first bool, err error) {
	detail, err := json.Marshal(map[string]string{"user_id": userID})
	if err != nil {
		return false, fmt.Errorf("encode audit detail: %w", err)
	}
	err = s.directoryTxn(ctx, true, func(ctx context.Context, lockAudit func()) error {
		h, held, err := s.RemovalHeld(ctx, source)
		if err != nil {
			return err
		}
		first = !held
		if first {
			h = RemovalHold{SinceMs: s.now().UnixMilli()}
		}
		h.Refused++
		if len(h.UserIDs) < maxHeldIDs && !slices.Contains(h.UserIDs, userID) {
			h.UserIDs = append(h.UserIDs, userID)
		}
		raw, err := json.Marshal(h)
		if err != nil {
			return err
		}
		if err := s.SetKV(ctx, removalHoldKey(source), string(raw)); err != nil {
			return err
		}
		lockAudit()
		_, err = s.appendAuditLocked(ctx, AuditEntry{Actor: actor, Action: ActionDirectoryHeld, Reason: reason, Detail: string(detail)})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record a held %s removal: %w", source, err)
	}
	return first, nil
}

// RemovalHeld reads a source's hold; held is false when none is in force.
func (s *Store) RemovalHeld(ctx context.Context, source string) (h RemovalHold, held bool, err error) {
	raw, ok, err := s.KV(ctx, removalHoldKey(source))
	if err != nil || !ok || raw == "" {
		return h, false, err
	}
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		return h, false, fmt.Errorf("read the %s removal hold: %w", source, err)
	}
	h.Since = time.UnixMilli(h.SinceMs)
	return h, true, nil
}

// EndRemovalHold forgets a source's hold without confirming it, once its
// removals go through again (the window has passed).
func (s *Store) EndRemovalHold(ctx context.Context, source string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM kv WHERE key = $1`, removalHoldKey(source)); err != nil {
		return fmt.Errorf("end the %s removal hold: %w", source, err)
	}
	return nil
}

// ConfirmRemovals lifts a source's hold, as an IG admin asked: removals
// before now no longer count. It returns the hold lifted (ErrNotFound if none).
func (s *Store) ConfirmRemovals(ctx context.Context, source string) (RemovalHold, error) {
	var h RemovalHold
	err := s.directoryTxn(ctx, false, func(ctx context.Context, _ func()) error {
		var held bool
		var err error
		if h, held, err = s.RemovalHeld(ctx, source); err != nil {
			return err
		}
		if !held {
			return ErrNotFound
		}
		if err := s.SetKV(ctx, removalConfirmKey(source), fmt.Sprint(s.now().UnixMilli())); err != nil {
			return err
		}
		return s.EndRemovalHold(ctx, source)
	})
	if errors.Is(err, ErrNotFound) {
		return h, ErrNotFound
	}
	if err != nil {
		return h, fmt.Errorf("confirm held %s removals: %w", source, err)
	}
	return h, nil
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
