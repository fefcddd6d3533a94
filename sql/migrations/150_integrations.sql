-- Up Migration
-- CRM and telephony syncs (issue 23): one row per sync run of an external system, and the cursors
-- each system's incremental read resumes from. Each system's own tables (snapshots, retry ledger,
-- record ids seen) live in its own migration.

CREATE TABLE integration_sync_runs (
  run_id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  system       text NOT NULL CHECK (system IN ('pipedrive', 'ringcentral')),
  trigger      text NOT NULL CHECK (trigger IN ('cli', 'schedule', 'lambda', 'console')),
  full_sync    boolean NOT NULL DEFAULT false,
  dry_run      boolean NOT NULL DEFAULT false,
  status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  started_at   timestamptz NOT NULL DEFAULT now(),
  -- a running sync proves it is alive; one silent for longer than the lease is abandoned by the next
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  read         integer NOT NULL DEFAULT 0,
  created      integer NOT NULL DEFAULT 0,
  updated      integer NOT NULL DEFAULT 0,
  unchanged    integer NOT NULL DEFAULT 0,
  deleted      integer NOT NULL DEFAULT 0,
  failed       integer NOT NULL DEFAULT 0,
  requests     integer NOT NULL DEFAULT 0,
  error        text,
  CHECK ((status = 'running') = (finished_at IS NULL))
);
-- One running sync per system: a second one is refused, never run alongside.
CREATE UNIQUE INDEX integration_sync_runs_one_running ON integration_sync_runs (system) WHERE status = 'running';
CREATE INDEX integration_sync_runs_recent ON integration_sync_runs (system, started_at DESC);

-- Where an incremental read resumes: (system, name) -> value, e.g. ('ringcentral', 'sync_token').
-- Written in the same transaction as the records read up to it, so a crash never skips records.
CREATE TABLE integration_cursors (
  system      text NOT NULL,
  name        text NOT NULL,
  value       text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (system, name)
);
