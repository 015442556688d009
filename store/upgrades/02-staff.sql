-- v1 -> v2: Staff directory
CREATE TABLE staff (
    user_id      TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    team         TEXT NOT NULL,
    registration TEXT NOT NULL,
    status       TEXT NOT NULL,
    -- source is csv, ldap or scim; external_id the LDAP DN or SCIM id.
    source       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX staff_status_idx ON staff (status);
CREATE INDEX staff_external_idx ON staff (source, external_id);
