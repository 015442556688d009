-- v21 -> v22: What the leader's rules are, beside its lease
-- fingerprint is a SHA-256 (hex) over the config sections that decide
-- policy, secrets and per-process fields left out (appservice's
-- fingerprint.go says which), and version the leader's binary: a standby
-- whose own differ says so and does not take over while the leader lives,
-- and when it does take over it tells the management room the rules
-- changed with the failover. Empty: not recorded (a leader before v22).
ALTER TABLE leader_lease ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE leader_lease ADD COLUMN version TEXT NOT NULL DEFAULT '';
