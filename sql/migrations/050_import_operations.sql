-- Up Migration
-- Operations on imports: replays, reports, alert delivery.

-- A replay is an import of its own (its own execution, counts and reports) that points at the
-- import it replays (always the original, never another replay). Its rows carry the original's
-- landing sequence (lineage_seq), so a replay of an old file never overrides newer deliveries
-- and the result equals a clean run of the original.
ALTER TABLE imports
  ADD COLUMN replay_of     uuid REFERENCES imports(id),
  ADD COLUMN replay_mode   text CHECK (replay_mode IN ('full', 'errors-only')),
  ADD COLUMN lineage_seq   bigint,
  ADD COLUMN reports_prefix text,
  ADD COLUMN alert_status  text CHECK (alert_status IN ('SENT', 'FAILED')),
  ADD COLUMN alert_error   text,
  ADD COLUMN alerted_at    timestamptz,
  ADD CONSTRAINT imports_replay_mode_with_replay_of CHECK ((replay_of IS NULL) = (replay_mode IS NULL));
CREATE INDEX imports_replay_of ON imports (replay_of) WHERE replay_of IS NOT NULL;

-- A replay re-reads content already imported: it is not a duplicate of its original.
DROP INDEX imports_live_content;
CREATE UNIQUE INDEX imports_live_content ON imports (source, sha256)
  WHERE sha256 IS NOT NULL AND status NOT IN ('FAILED', 'DUPLICATE') AND replay_of IS NULL;

-- A rejected row that a later errors-only replay of its import accepted.
ALTER TABLE import_rejects ADD COLUMN resolved_by uuid REFERENCES imports(id);
CREATE INDEX import_rejects_row ON import_rejects (import_id, row_number);

-- Down Migration
DROP INDEX import_rejects_row;
ALTER TABLE import_rejects DROP COLUMN resolved_by;
DROP INDEX imports_live_content;
CREATE UNIQUE INDEX imports_live_content ON imports (source, sha256)
  WHERE sha256 IS NOT NULL AND status NOT IN ('FAILED', 'DUPLICATE');
DROP INDEX imports_replay_of;
ALTER TABLE imports DROP CONSTRAINT imports_replay_mode_with_replay_of,
  DROP COLUMN alerted_at, DROP COLUMN alert_error, DROP COLUMN alert_status, DROP COLUMN reports_prefix,
  DROP COLUMN lineage_seq, DROP COLUMN replay_mode, DROP COLUMN replay_of;
