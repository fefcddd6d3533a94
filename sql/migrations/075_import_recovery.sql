-- Up Migration
-- Crash recovery: an import whose execution is gone (the platform died, the execution was
-- aborted) is taken over by a new execution. Step Functions never reuses an execution name, so
-- the taking-over execution's name is recorded; NULL means the execution named after the import.
ALTER TABLE imports
  ADD COLUMN execution_name text,
  ADD COLUMN recoveries     int NOT NULL DEFAULT 0,
  ADD COLUMN recovered_at   timestamptz;
-- Recovery looks for these on every platform start and on its schedule.
CREATE INDEX imports_open ON imports (seq) WHERE status IN ('PENDING', 'STAGING', 'PROCESSING');

-- Down Migration
DROP INDEX imports_open;
ALTER TABLE imports DROP COLUMN recovered_at, DROP COLUMN recoveries, DROP COLUMN execution_name;
