-- v13 -> v14: Retention sweeps and legal holds
-- One row per room the sweep has visited: where it stopped in the room's
-- history (a /messages token), what it found, and what went wrong.
CREATE TABLE retention_sweep (
    room_id        TEXT PRIMARY KEY,
    cursor         TEXT NOT NULL DEFAULT '',
    last_started   BIGINT NOT NULL DEFAULT 0,
    last_finished  BIGINT NOT NULL DEFAULT 0,
    oldest_kept    BIGINT NOT NULL DEFAULT 0,
    backlog        BIGINT NOT NULL DEFAULT 0,
    redacted       BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT NOT NULL DEFAULT '',
    failures       BIGINT NOT NULL DEFAULT 0,
    alerted        TEXT NOT NULL DEFAULT ''
);
-- A legal hold stops deletion in a room until an IG admin lifts it.
CREATE TABLE legal_hold (
    room_id  TEXT PRIMARY KEY,
    reason   TEXT NOT NULL,
    held_by  TEXT NOT NULL,
    since    BIGINT NOT NULL
);
