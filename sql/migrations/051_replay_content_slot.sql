-- Up Migration
-- Which imports hold the (source, sha256) content slot that makes a re-sent file a DUPLICATE:
-- every import landed by a partner, and a full replay of a FAILED import (it takes over the slot
-- the failure gave up); not a replay of a live import (that one keeps the slot) nor an
-- errors-only replay (other content).
ALTER TABLE imports ADD COLUMN holds_content_slot boolean NOT NULL DEFAULT true;
UPDATE imports SET holds_content_slot = false WHERE replay_of IS NOT NULL;
DROP INDEX imports_live_content;
CREATE UNIQUE INDEX imports_live_content ON imports (source, sha256)
  WHERE sha256 IS NOT NULL AND status NOT IN ('FAILED', 'DUPLICATE') AND holds_content_slot;

-- Down Migration
DROP INDEX imports_live_content;
CREATE UNIQUE INDEX imports_live_content ON imports (source, sha256)
  WHERE sha256 IS NOT NULL AND status NOT IN ('FAILED', 'DUPLICATE') AND replay_of IS NULL;
ALTER TABLE imports DROP COLUMN holds_content_slot;
