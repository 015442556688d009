-- v15 -> v16: Files that messages and avatars point to, so a file is deleted only when nothing that must be kept uses it
-- One row per reference: a message (or avatar) in a room pointing at an mxc:// URI.
-- Holds, records waiting for the patient record and each room's retention are
-- read from their own tables and the room when a file is judged, never copied here.
CREATE TABLE media_ref (
    uri       TEXT NOT NULL,
    room_id   TEXT NOT NULL,
    event_id  TEXT NOT NULL,
    avatar    BIGINT NOT NULL DEFAULT 0,
    sent_at   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (uri, room_id, event_id)
);
-- The content hash of a URI's bytes, once learned: URIs with the same bytes share one
-- copy in the homeserver's media store.
CREATE TABLE media_hash (
    uri   TEXT PRIMARY KEY,
    hash  TEXT NOT NULL
);
CREATE INDEX media_hash_by_hash ON media_hash (hash);
-- Files of messages the sweep deleted, waiting to be judged: a sweep later, once every event
-- the homeserver sent has been indexed, so a message still on its way is counted.
CREATE TABLE media_candidate (
    uri       TEXT NOT NULL,
    room_id   TEXT NOT NULL,
    event_id  TEXT NOT NULL,
    noted_at  BIGINT NOT NULL,
    PRIMARY KEY (uri, event_id)
);
