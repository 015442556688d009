-- v5 -> v6: Identity attestations
CREATE TABLE attestation (
    user_id     TEXT PRIMARY KEY,
    master_key  TEXT NOT NULL,
    method      TEXT NOT NULL,
    attested_by TEXT NOT NULL,
    note        TEXT NOT NULL,
    attested_at BIGINT NOT NULL
);
