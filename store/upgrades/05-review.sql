-- v4 -> v5: Membership reviews and member activity
CREATE TABLE review (
    room_id           TEXT PRIMARY KEY,
    interval_ms       BIGINT NOT NULL,
    next_due          BIGINT NOT NULL,
    started_at        BIGINT NOT NULL DEFAULT 0,
    escalated         BOOLEAN NOT NULL DEFAULT false,
    last_confirmed_at BIGINT NOT NULL DEFAULT 0,
    last_confirmed_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX review_due_idx ON review (next_due);

CREATE TABLE member_activity (
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    last_ts BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
