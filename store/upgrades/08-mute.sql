-- v7 -> v8: Suspension by muting: the power level to restore
ALTER TABLE suspension ADD COLUMN muted_from BIGINT;
