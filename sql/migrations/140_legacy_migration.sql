-- Up Migration
-- Legacy migration (packages/core/src/migration): one run per `leadpipe migrate`, a checkpoint per
-- table and key range, and a quarantine of refused rows kept verbatim. Each range lands as an
-- import of its own (a CSV object under inbox/<source>/migrate/...), so the imports keep the
-- counts and reports; these tables tie the imports back to the legacy rows.
CREATE TABLE migration_runs (
  run_id       uuid PRIMARY KEY,
  -- The source as given, with any password removed.
  source       text NOT NULL,
  options      jsonb NOT NULL DEFAULT '{}',
  status       text NOT NULL DEFAULT 'RUNNING' CHECK (status IN ('RUNNING', 'LANDED', 'COMPLETE', 'UNBALANCED', 'FAILED')),
  manifest     jsonb,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);

-- A key range of a legacy table: the rows after after_key up to last_key, in primary-key order.
-- A range is written once its object is in the landing bucket; resume starts after the last one.
CREATE TABLE migration_ranges (
  run_id       uuid NOT NULL REFERENCES migration_runs (run_id) ON DELETE CASCADE,
  table_name   text NOT NULL,
  range_no     int NOT NULL,
  target       text NOT NULL,
  after_key    jsonb,
  last_key     jsonb NOT NULL,
  source_rows  int NOT NULL,
  quarantined  int NOT NULL,
  dropped      int NOT NULL,
  -- The primary keys of the rows written to the object, in its row order (an import's row N is pks[N]).
  pks          text[] NOT NULL,
  object_key   text,
  sha256       text,
  -- sha256 over the canonical values of the rows expected to land, in key order.
  checksum     text NOT NULL,
  written_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, table_name, range_no)
);

CREATE TABLE migration_quarantine (
  quarantine_id bigserial PRIMARY KEY,
  run_id        uuid NOT NULL REFERENCES migration_runs (run_id) ON DELETE CASCADE,
  table_name    text NOT NULL,
  pk            text NOT NULL,
  -- The row as read from the source, before any cast.
  row           jsonb NOT NULL,
  reason        text NOT NULL,
  -- 'cast' (refused by the migration) or 'import' (rejected by the import's rules).
  stage         text NOT NULL CHECK (stage IN ('cast', 'import')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (run_id, table_name, pk, stage)
);

-- Down Migration
DROP TABLE migration_quarantine;
DROP TABLE migration_ranges;
DROP TABLE migration_runs;
