-- Up Migration
-- The console's today page reads each puller's last run and the ledger's failed files
-- (Pullers.lastRuns, Pullers.ledger({state: 'failed'})): indexed, so they stay probes as the runs and
-- the ledger grow by a few rows a day for years.
CREATE INDEX IF NOT EXISTS puller_runs_by_puller ON puller_runs (puller, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS puller_files_by_state ON puller_files (state, last_seen_at DESC, id DESC);

-- Down Migration
DROP INDEX IF EXISTS puller_files_by_state;
DROP INDEX IF EXISTS puller_runs_by_puller;
