-- v19 -> v20: Named admin API tokens, sign-in codes and admin web sessions
-- Every secret is kept only as its SHA-256 (hex): a copy of the database
-- gives no way in. A token's name is what the audit log calls its calls.
-- scopes: space-separated (read, export, act); person: whom it was made
-- for ('' for a system); times in milliseconds by the store's clock, 0
-- when not (yet) so.
CREATE TABLE admin_token (
    name         TEXT PRIMARY KEY,
    hash         TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    person       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    revoked_at   BIGINT NOT NULL
);
-- One outstanding sign-in code per browser that asked (pending: the hash of
-- the secret in that browser's cookie); code_hash binds the code to it, so
-- the code the bot sent (which the action log keeps) is useless elsewhere.
CREATE TABLE admin_signin_code (
    pending    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts   INTEGER NOT NULL,
    used_at    BIGINT NOT NULL
);
CREATE INDEX admin_signin_code_expires_idx ON admin_signin_code (expires_at);
-- A signed-in IG admin's session (hash: of the cookie's secret). It ends at
-- expires_at, after an idle gap longer than the configured one since
-- last_seen_at, or at sign-out (ended_at).
CREATE TABLE admin_session (
    hash         TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ended_at     BIGINT NOT NULL
);
CREATE INDEX admin_session_expires_idx ON admin_session (expires_at);
