-- v3 -> v4: Holds keep people out of clinical rooms (e.g. after a lost device)
CREATE TABLE hold (
    user_id TEXT PRIMARY KEY,
    reason  TEXT NOT NULL,
    held_by TEXT NOT NULL,
    since   BIGINT NOT NULL
);
