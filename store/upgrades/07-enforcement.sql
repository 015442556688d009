-- v6 -> v7: Verification enforcement: shortfalls and suspensions
CREATE TABLE verification_state (
    user_id     TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    short_since BIGINT NOT NULL,
    suspended   BOOLEAN NOT NULL
);

CREATE TABLE suspension (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    since   BIGINT NOT NULL,
    PRIMARY KEY (user_id, room_id)
);
