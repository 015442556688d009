package verification

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// ActionRoomKeysDiscarded is the audit action of one batch of room keys
// the bot's device discarded because retention had deleted their messages.
const ActionRoomKeysDiscarded = "room-keys-discarded"

// discardBatch is how many keys one transaction discards: a long sweep's
// deletions come in pieces, each committed with its own audit entry, so
// other writers (SQLite has one at a time) wait little.
const discardBatch = 500

// SpentKeys counts what one discard removed from the bot's crypto store.
type SpentKeys struct {
	Sessions int64 `json:"sessions"`
	Rooms    int64 `json:"rooms"`
	// MessageIndexes are the replay records (one per decrypted message)
	// of the sessions discarded.
	MessageIndexes int64 `json:"message_indexes"`
}

// roomKeyRow is one inbound Megolm session as the discard reads it.
type roomKeyRow struct {
	room, session, sender string
	key                   policy.RoomKey
}

// DiscardSpentRoomKeys removes from the bot's crypto store (mautrix-go's
// tables in Caldicott's database) every inbound Megolm session whose
// messages retention has certainly deleted (policy.RoomKeySpent), with the
// replay records of its messages. ownKey is the bot device's identity key:
// its own sessions are kept. Each batch commits with an audit entry naming
// actor; in the service's fenced store a process that is not the leader
// is refused (store.ErrNotLeader) before it deletes anything.
func DiscardSpentRoomKeys(ctx context.Context, st *store.Store, ownKey id.SenderKey, actor string) (SpentKeys, error) {
	keys, err := readRoomKeys(ctx, st, ownKey)
	if err != nil {
		return SpentKeys{}, err
	}
	proofs := map[string]time.Time{}
	var spent []roomKeyRow
	for _, k := range keys {
		deleted, ok := proofs[k.room]
		if !ok {
			if deleted, err = deletedBefore(ctx, st, k.room); err != nil {
				return SpentKeys{}, err
			}
			proofs[k.room] = deleted
		}
		if policy.RoomKeySpent(k.key, deleted) {
			spent = append(spent, k)
		}
	}
	var total SpentKeys
	for len(spent) > 0 {
		n := min(discardBatch, len(spent))
		done, err := discardKeys(ctx, st, spent[:n], actor)
		if err != nil {
			return total, err
		}
		total.Sessions += done.Sessions
		total.Rooms += done.Rooms
		total.MessageIndexes += done.MessageIndexes
		spent = spent[n:]
	}
	return total, nil
}

// readRoomKeys reads every inbound session of the bot's device with the
// send time of its newest message the device decrypted.
func readRoomKeys(ctx context.Context, st *store.Store, ownKey id.SenderKey) ([]roomKeyRow, error) {
	rows, err := st.DB().Query(ctx, `
		SELECT s.room_id, s.session_id, s.sender_key, s.received_at, COALESCE(s.max_age, 0),
		       COALESCE((SELECT MAX(m.timestamp) FROM crypto_message_index m
		                 WHERE m.sender_key = s.sender_key AND m.session_id = s.session_id), 0)
		FROM crypto_megolm_inbound_session s
		WHERE s.account_id = ''
		ORDER BY s.room_id`)
	if err != nil {
		return nil, fmt.Errorf("read the bot's room keys: %w", err)
	}
	defer rows.Close()
	var out []roomKeyRow
	for rows.Next() {
		var k roomKeyRow
		var received sql.NullTime
		var maxAgeMS, lastMS int64
		if err := rows.Scan(&k.room, &k.session, &k.sender, &received, &maxAgeMS, &lastMS); err != nil {
			return nil, fmt.Errorf("read a room key: %w", err)
		}
		k.key = policy.RoomKey{Own: id.SenderKey(k.sender) == ownKey, Rotation: time.Duration(maxAgeMS) * time.Millisecond}
		if received.Valid {
			k.key.Received = received.Time
		}
		if lastMS > 0 {
			k.key.LastMessage = time.UnixMilli(lastMS)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the bot's room keys: %w", err)
	}
	return out, nil
}

// deletedBefore is what the room's retention sweep has proven deleted.
func deletedBefore(ctx context.Context, st *store.Store, room string) (time.Time, error) {
	sweep, err := st.SweepStateOf(ctx, room)
	if err != nil {
		return time.Time{}, err
	}
	_, err = st.LegalHoldOf(ctx, room)
	held := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return time.Time{}, err
	}
	return policy.RoomSweepProof{
		Held: held, LastFinished: sweep.LastFinished, OldestKept: sweep.OldestKept,
		Backlog: sweep.Backlog, Failures: sweep.Failures,
	}.DeletedBefore(), nil
}

// discardKeys deletes one batch of spent sessions and their replay
// records, and audits how many, in one transaction.
func discardKeys(ctx context.Context, st *store.Store, keys []roomKeyRow, actor string) (SpentKeys, error) {
	var done SpentKeys
	rooms := map[string]bool{}
	err := st.DB().DoTxn(ctx, nil, func(ctx context.Context) error {
		for _, k := range keys {
			res, err := st.DB().Exec(ctx, `DELETE FROM crypto_megolm_inbound_session WHERE account_id = '' AND session_id = $1 AND room_id = $2`, k.session, k.room)
			if err != nil {
				return fmt.Errorf("discard a room key: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue // gone meanwhile
			}
			res, err = st.DB().Exec(ctx, `DELETE FROM crypto_message_index WHERE sender_key = $1 AND session_id = $2`, k.sender, k.session)
			if err != nil {
				return fmt.Errorf("discard a room key's replay records: %w", err)
			}
			n, _ := res.RowsAffected()
			done.Sessions++
			done.MessageIndexes += n
			rooms[k.room] = true
		}
		done.Rooms = int64(len(rooms))
		if done.Sessions == 0 {
			return nil
		}
		detail, err := json.Marshal(done)
		if err != nil {
			return err
		}
		_, err = st.AppendAudit(ctx, store.AuditEntry{Actor: actor, Action: ActionRoomKeysDiscarded, Detail: string(detail),
			Reason: "The bot's encryption device discarded the keys of messages retention has deleted."})
		return err
	})
	if err != nil {
		return SpentKeys{}, err
	}
	return done, nil
}
