-- Up Migration
-- Partner pullers: a ledger of every remote file version seen (not a high-water mark), the runs,
-- the once-a-day missing-file alerts and the outbound deliveries. The rules are in
-- sql/functions/pullers.sql.

CREATE TABLE puller_runs (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  puller       text NOT NULL,
  trigger      text NOT NULL CHECK (trigger IN ('cli', 'schedule', 'lambda')),
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  -- outcome -> number of files, e.g. {"landed": 2, "already-landed": 5}
  outcomes     jsonb NOT NULL DEFAULT '{}'::jsonb,
  error        text
);
CREATE INDEX puller_runs_recent ON puller_runs (started_at DESC);

-- One row per version of a remote file: (puller, path, size, modification time, remote hash).
-- A version seen again is the same row; a file that changes is a new row.
CREATE TABLE puller_files (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  puller         text NOT NULL,
  path           text NOT NULL,
  size           bigint NOT NULL CHECK (size >= 0),
  modified_at    timestamptz NOT NULL,
  -- an ETag or hash where the server offers one, else ''
  remote_hash    text NOT NULL DEFAULT '',
  first_seen_at  timestamptz NOT NULL DEFAULT now(),
  last_seen_at   timestamptz NOT NULL DEFAULT now(),
  state          text NOT NULL DEFAULT 'seen'
                 CHECK (state IN ('seen', 'unstable', 'landed', 'duplicate', 'skipped', 'failed')),
  reason         text,
  attempts       int NOT NULL DEFAULT 0,
  -- a run landing this version holds it until then (two runs never land one version twice)
  claimed_until  timestamptz,
  -- when the latest landing of this version began (its import is created after it)
  landing_started_at timestamptz,
  -- an operator asked for this version to be landed again
  forced         boolean NOT NULL DEFAULT false,
  object_key     text,
  sha256         text,
  import_id      uuid REFERENCES imports(id),
  landed_at      timestamptz,
  UNIQUE (puller, path, size, modified_at, remote_hash)
);
CREATE INDEX puller_files_by_path ON puller_files (puller, path, last_seen_at DESC);
CREATE INDEX puller_files_unlinked ON puller_files (object_key, sha256) WHERE state = 'landed' AND import_id IS NULL;

-- "No file by expected_by": one alert per puller and local day.
CREATE TABLE puller_missing_alerts (
  puller      text NOT NULL,
  day         date NOT NULL,
  alerted_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (puller, day)
);

-- Outbound files (the lead hand-off): one row per (destination, file content); sent once.
CREATE TABLE puller_deliveries (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  puller        text NOT NULL,
  object_key    text NOT NULL,
  remote_path   text NOT NULL,
  size          bigint NOT NULL,
  sha256        text NOT NULL,
  state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
  attempts      int NOT NULL DEFAULT 0,
  answer        text,
  claimed_until timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  sent_at       timestamptz,
  UNIQUE (puller, remote_path, sha256)
);

-- Graph mailboxes: the delta link kept per (puller, folder).
CREATE TABLE puller_delta_links (
  puller      text NOT NULL,
  folder      text NOT NULL,
  delta_link  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (puller, folder)
);

-- Down Migration
DROP TABLE puller_delta_links;
DROP TABLE puller_deliveries;
DROP TABLE puller_missing_alerts;
DROP TABLE puller_files;
DROP TABLE puller_runs;
