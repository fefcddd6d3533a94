-- Up Migration
-- Why a migration run ended FAILED (the state machine's Catch: the failing step's error and cause).
ALTER TABLE migration_runs ADD COLUMN status_reason text;

-- Down Migration
ALTER TABLE migration_runs DROP COLUMN status_reason;
