-- v12 -> v13: Requests to move a room out of clinical, waiting for the IG team
CREATE TABLE downgrade_request (
    room_id      TEXT PRIMARY KEY,
    to_class     TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    reason       TEXT NOT NULL,
    requested_at BIGINT NOT NULL
);
