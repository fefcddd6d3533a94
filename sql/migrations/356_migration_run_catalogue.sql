-- Up Migration
-- The source's catalogue a migration run planned against (its tables, columns, keys and foreign keys,
-- as LegacyReader.tables() read them when the run began). Every step after that builds the run's table
-- specs from it: a state machine item (a range landed or checked) never reads the source's catalogue,
-- and a step that does read it (planning a phase, summing a reconciliation) compares the two. NULL for a
-- run begun before this column: its first step stores the catalogue it reads.
ALTER TABLE migration_runs ADD COLUMN catalogue jsonb;

-- Down Migration
ALTER TABLE migration_runs DROP COLUMN catalogue;
