-- Up Migration
-- The console's today page reads each source's last arrival and today's count: one index probe per
-- source (a loose index scan) instead of a scan of every import ever.
CREATE INDEX IF NOT EXISTS imports_source_created_at ON imports (source, created_at DESC) WHERE source IS NOT NULL;
-- What is running now: the few imports not yet at a terminal status, without reading the rest.
CREATE INDEX IF NOT EXISTS imports_unfinished ON imports (seq) WHERE status IN ('PENDING', 'STAGING', 'PROCESSING');

-- Down Migration
DROP INDEX IF EXISTS imports_unfinished;
DROP INDEX IF EXISTS imports_source_created_at;
