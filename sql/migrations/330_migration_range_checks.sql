-- Up Migration
-- A reconciliation checks each key range on its own (the CLI's lanes, the state machine's reconcile
-- Map: one item per range) and keeps what it found here; the manifest sums a table's ranges. A
-- range checked again (a retried item, a later verify) replaces its row; check_id names the
-- reconciliation that wrote it, so the sum counts only ranges checked by that one.
CREATE TABLE migration_range_checks (
  run_id       uuid NOT NULL,
  table_name   text NOT NULL,
  range_no     int NOT NULL,
  check_id     uuid NOT NULL,
  source_rows  int NOT NULL,
  loaded       int NOT NULL,
  quarantined  int NOT NULL,
  dropped      int NOT NULL,
  -- The range's rows that differ (at most 100, in the order the manifest lists them).
  differences  jsonb NOT NULL DEFAULT '[]',
  -- The primary keys the source still refuses (its quarantine stays open for them).
  refused      text[] NOT NULL DEFAULT '{}',
  checked_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, table_name, range_no),
  FOREIGN KEY (run_id, table_name, range_no) REFERENCES migration_ranges (run_id, table_name, range_no) ON DELETE CASCADE
);

-- Down Migration
DROP TABLE migration_range_checks;
