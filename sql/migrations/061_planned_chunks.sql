-- Up Migration
-- Byte-range chunks Checksum plans while it hashes a UTF-8 delimited file, so Stage does not read it again.
ALTER TABLE imports ADD COLUMN planned_chunks jsonb;

-- Down Migration
ALTER TABLE imports DROP COLUMN planned_chunks;
