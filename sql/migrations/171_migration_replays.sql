-- Up Migration
-- Replaying quarantined rows (leadpipe migrate replay-quarantine): each range lists the replay
-- objects that landed some of its quarantined rows again (object, sha256, the rows' keys in the
-- object's order, the mapping they were cast with); a quarantined row knows its range and, once a
-- reconciliation finds it landed, when it was resolved (it stays, as the record of what happened).
ALTER TABLE migration_ranges ADD COLUMN replays jsonb NOT NULL DEFAULT '[]';
ALTER TABLE migration_quarantine ADD COLUMN range_no int, ADD COLUMN resolved_at timestamptz;
CREATE INDEX migration_quarantine_open ON migration_quarantine (run_id, table_name) WHERE resolved_at IS NULL;

-- Down Migration
DROP INDEX migration_quarantine_open;
ALTER TABLE migration_quarantine DROP COLUMN resolved_at, DROP COLUMN range_no;
ALTER TABLE migration_ranges DROP COLUMN replays;
