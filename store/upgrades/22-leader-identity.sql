-- v21 -> v22: What the leader's rules are, and since when it leads
-- fingerprint is a SHA-256 (hex) over the config sections that decide
-- policy, secrets and per-process fields left out (config's
-- fingerprint.go says which), and version the leader's binary: a standby
-- whose own differ says so and does not take over while the leader lives,
-- and when it does take over it tells the management room the rules
-- changed with the failover. Empty: not recorded (a leader before v22).
-- since: when the holder's tenure began (its epoch taken), in milliseconds
-- of the database's clock, for !policy status; 0 when not recorded.
ALTER TABLE leader_lease ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE leader_lease ADD COLUMN version TEXT NOT NULL DEFAULT '';
ALTER TABLE leader_lease ADD COLUMN since BIGINT NOT NULL DEFAULT 0;
