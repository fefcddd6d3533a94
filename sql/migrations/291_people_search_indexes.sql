-- Up Migration
-- The console's people search (/people?q=, packages/console/src/data/people.ts) probes golden
-- records by surname (also for "first last": the surname is a suffix of the words), e-mail and
-- phone. Without these it read every golden record: a sequential scan at millions of people.
-- test/integration/console-people-search.test.ts EXPLAINs it over 200,000 of them.
CREATE INDEX IF NOT EXISTS persons_last_name_lower ON persons (lower(last_name)) WHERE last_name IS NOT NULL;
CREATE INDEX IF NOT EXISTS persons_email_lower ON persons (lower(email)) WHERE email IS NOT NULL;
CREATE INDEX IF NOT EXISTS persons_phone ON persons (phone) WHERE phone IS NOT NULL;

-- Down Migration
DROP INDEX IF EXISTS persons_phone;
DROP INDEX IF EXISTS persons_email_lower;
DROP INDEX IF EXISTS persons_last_name_lower;
