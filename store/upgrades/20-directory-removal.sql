-- v19 -> v20: Removals from the directory, by source and time, for the rolling mass-removal guard
-- One row per person moved from active to suspended or left, written in the
-- same transaction as the change. SCIM sends one person per request, so its
-- guard counts these rows over a window rather than within one update.
CREATE TABLE directory_removal (
    user_id    TEXT NOT NULL,
    source     TEXT NOT NULL,
    removed_at BIGINT NOT NULL
);
CREATE INDEX directory_removal_source_time_idx ON directory_removal (source, removed_at);
