-- Up Migration
-- Who holds a claim (issue 21): a landing or a delivery is claimed for a short lease that its run
-- renews while it works, and the claim names its process (kernel boot, pid namespace, pid and
-- start time), so a run on the same machine sees at once when the holder died (kill -9, a crash)
-- instead of waiting out the lease. See the rule header of sql/functions/pullers.sql.
ALTER TABLE puller_files ADD COLUMN claimed_by text;
ALTER TABLE puller_deliveries ADD COLUMN claimed_by text;

-- Down Migration
ALTER TABLE puller_deliveries DROP COLUMN claimed_by;
ALTER TABLE puller_files DROP COLUMN claimed_by;
