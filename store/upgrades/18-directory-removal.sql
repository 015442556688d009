-- v17 -> v18: Removals from the directory by source and time, and removals held for confirmation
-- One row per person moved from active to suspended or left, written in the
-- same transaction as the change. SCIM sends one person per request, so its
-- mass-removal guard counts these rows over a window rather than within one
-- update.
CREATE TABLE directory_removal (
    user_id    TEXT NOT NULL,
    source     TEXT NOT NULL,
    removed_at BIGINT NOT NULL
);
CREATE INDEX directory_removal_source_time_idx ON directory_removal (source, removed_at);
-- Removals the guard refused, until an IG admin confirms them (they are then
-- applied, if the person's record has not changed since) or they expire.
-- status is what the removal would have made the person: suspended or left.
CREATE TABLE directory_held_removal (
    source     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    status     TEXT NOT NULL,
    refused_at BIGINT NOT NULL,
    PRIMARY KEY (source, user_id)
);
