-- Up Migration
-- Syncs that stop cleanly before a limit (issue 23): a run that spent what it may of a daily budget
-- (Pipedrive's company token budget) or of its time (a Lambda's 15 minutes) ends 'partial', with why,
-- and the next run resumes the work left. Rules: docs/integrations.md ("Daily token budget").

ALTER TABLE integration_sync_runs DROP CONSTRAINT integration_sync_runs_status_check;
ALTER TABLE integration_sync_runs
  ADD CONSTRAINT integration_sync_runs_status_check CHECK (status IN ('running', 'succeeded', 'partial', 'failed'));
-- why a run stopped early (partial): the limit it met and when the next run can go on
ALTER TABLE integration_sync_runs ADD COLUMN stop_reason text;

-- The tokens (Pipedrive's cost units) our syncs spent per budget day, so the runs of one day share
-- what the day allows: each run starts from what the earlier runs of its day spent. The day is the
-- provider's (Pipedrive resets at midnight in its server's time zone, declared per connection).
CREATE TABLE integration_token_spend (
  system      text NOT NULL,
  budget_day  date NOT NULL,
  tokens      bigint NOT NULL DEFAULT 0 CHECK (tokens >= 0),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (system, budget_day)
);

-- Down Migration
DROP TABLE integration_token_spend;
ALTER TABLE integration_sync_runs DROP COLUMN stop_reason;
UPDATE integration_sync_runs SET status = 'succeeded' WHERE status = 'partial';
ALTER TABLE integration_sync_runs DROP CONSTRAINT integration_sync_runs_status_check;
ALTER TABLE integration_sync_runs
  ADD CONSTRAINT integration_sync_runs_status_check CHECK (status IN ('running', 'succeeded', 'failed'));
