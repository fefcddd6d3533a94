-- Up Migration
-- The mortgage triggers wrote one delta row per (partner, closing date, state, ZIP5) of each
-- statement: about one row per five mortgages, most of a chunk's trigger cost and all of the
-- refresh's. The two rollups need two narrower grains (partner x closing date, for the per-day
-- report; partner x state x ZIP5, for the ZIP rollups), each a few hundred to a few thousand rows
-- per statement, written in one pass by GROUPING SETS (sql/functions/reports.sql). Rows written
-- before this migration carry both grains ('day_and_zip') and are folded into both rollups, as before.
ALTER TABLE report_mortgage_deltas
  ADD COLUMN grain text NOT NULL DEFAULT 'day_and_zip' CHECK (grain IN ('day_and_zip', 'day', 'zip'));
-- every writer names its grain from here on
ALTER TABLE report_mortgage_deltas ALTER COLUMN grain DROP DEFAULT;

-- Down Migration
-- Without the column a 'day' row would be folded as both grains: fold the pending rows first.
SELECT refresh_mortgage_rollups();
ALTER TABLE report_mortgage_deltas DROP COLUMN grain;
