-- Up Migration
-- The people consumer's failures, one row per import: the reason of the last attempt and how many
-- there were. An import that failed PEOPLE_MAX_ATTEMPTS times is skipped (alerted once), so it
-- never blocks the imports after it; deleting its row (or replaying the import) puts it back in line.
CREATE TABLE people_failures (
  import_id  uuid PRIMARY KEY REFERENCES imports(id) ON DELETE CASCADE,
  attempts   int NOT NULL CHECK (attempts > 0),
  reason     text NOT NULL,
  failed_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE people_failures;
