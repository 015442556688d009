package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Attestation records that the trust confirmed a member's identity: who,
// how, when, and the exact master key confirmed.
type Attestation struct {
	UserID, MasterKey, Method, AttestedBy, Note string
	At                                          time.Time
}

// SaveAttestation records (or replaces) a member's attestation.
func (s *Store) SaveAttestation(ctx context.Context, a Attestation) error {
	_, err := s.db.Exec(ctx, `INSERT INTO attestation (user_id, master_key, method, attested_by, note, attested_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (user_id) DO UPDATE SET master_key = excluded.master_key, method = excluded.method, attested_by = excluded.attested_by,
			note = excluded.note, attested_at = excluded.attested_at`,
		a.UserID, a.MasterKey, a.Method, a.AttestedBy, a.Note, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("save attestation of %s: %w", a.UserID, err)
	}
	return nil
}

// AttestationOf returns a member's attestation; ErrNotFound if none.
func (s *Store) AttestationOf(ctx context.Context, userID string) (Attestation, error) {
	var a Attestation
	var at int64
	err := s.db.QueryRow(ctx, `SELECT user_id, master_key, method, attested_by, note, attested_at FROM attestation WHERE user_id = $1`, userID).
		Scan(&a.UserID, &a.MasterKey, &a.Method, &a.AttestedBy, &a.Note, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("read attestation of %s: %w", userID, err)
	}
	a.At = time.UnixMilli(at)
	return a, nil
}

// Attestations lists every recorded attestation, by user ID.
func (s *Store) Attestations(ctx context.Context) ([]Attestation, error) {
	rows, err := s.db.Query(ctx, `SELECT user_id, master_key, method, attested_by, note, attested_at FROM attestation ORDER BY user_id`)
	if err != nil {
		return nil, fmt.Errorf("list attestations: %w", err)
	}
	defer rows.Close()
	var out []Attestation
	for rows.Next() {
		var a Attestation
		var at int64
		if err := rows.Scan(&a.UserID, &a.MasterKey, &a.Method, &a.AttestedBy, &a.Note, &at); err != nil {
			return nil, fmt.Errorf("list attestations: %w", err)
		}
		a.At = time.UnixMilli(at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list attestations: %w", err)
	}
	return out, nil
}

// DeleteAttestation removes a member's attestation (withdrawn by whoever
// gave it); deleting none is not an error.
func (s *Store) DeleteAttestation(ctx context.Context, userID string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM attestation WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("delete attestation of %s: %w", userID, err)
	}
	return nil
}
