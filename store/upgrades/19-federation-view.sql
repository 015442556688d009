-- v18 -> v19: The federation as the appservice last read it, for the gatekeeper
-- One row: the other member trusts' servers (this trust's config and the
-- federation's policy list together) and the users the list bans (leavers
-- and suspended staff other trusts published), both JSON arrays, as the
-- appservice computed them; updated_at is when it last read the list, by
-- the store's clock. The gatekeeper only reads it, and stops trusting it
-- past gatekeeper.max_list_age.
CREATE TABLE federation_view (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    servers    TEXT NOT NULL,
    banned     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
