-- v16 -> v17: Rooms replaced by an upgrade, and what was carried over to the replacement
-- One row per tombstone Caldicott has seen (or replacement it was invited
-- to): state is 'waiting' (the bot is not in the new room yet), 'carried'
-- (the new room is guarded with everything the old one had) or 'refused'
-- (the new room was not made by upgrading the old one).
CREATE TABLE room_upgrade (
    old_room_id TEXT NOT NULL,
    new_room_id TEXT NOT NULL,
    upgraded_by TEXT NOT NULL,
    state       TEXT NOT NULL,
    noted_at    BIGINT NOT NULL,
    carried_at  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (old_room_id, new_room_id)
);
CREATE INDEX room_upgrade_new_idx ON room_upgrade (new_room_id);
-- A message waiting for the patient record stays in the room it was sent in
-- (retention keeps it there); notify_room is where people now hear about it
-- when that room was replaced ('' : the room itself).
ALTER TABLE patient_record ADD COLUMN notify_room TEXT NOT NULL DEFAULT '';
