-- Up Migration
-- The console's pages at the reporting layer's 10M-mortgage scale (bench/console.ts --explain):
-- a lead's timeline read every call of 2M (a parallel sequential scan, 630 ms) and every lead (16 ms
-- twice) to find one mortgage's; an imports list filtered by status walked the whole history in
-- seq order until it had a page of that status (29 ms over 100k imports, more with each day);
-- a search by borrower name read all 10M mortgages.
CREATE INDEX IF NOT EXISTS call_responses_mortgage ON call_responses (mortgage_id) WHERE mortgage_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS leads_mortgage ON leads (mortgage_id);
CREATE INDEX IF NOT EXISTS imports_status_seq ON imports (status, seq);
CREATE INDEX IF NOT EXISTS mortgages_borrower_last_name ON mortgages (lower(borrower_last_name))
  WHERE borrower_last_name IS NOT NULL;

-- Down Migration
DROP INDEX IF EXISTS mortgages_borrower_last_name;
DROP INDEX IF EXISTS imports_status_seq;
DROP INDEX IF EXISTS leads_mortgage;
DROP INDEX IF EXISTS call_responses_mortgage;
