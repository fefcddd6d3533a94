-- Up Migration
-- callbacks-by-geography read whole (every county x piece type, about 10k rows) spent half its
-- server time joining counties and sorting the join: 58.5 ms p95 at bench/reports.ts --scale 0.05,
-- over the 50 ms target. The rollup now carries each county's name, so the report is a scan of
-- the rollup's unique index in the report's order (state, county, piece type): no join, no sort.
-- The rate is a stored generated column for the same reason. The names follow the ZIP table: a
-- new ZIP table asks for a full rebuild of the mail rollups (Reports.loadZipCounties), which
-- writes every row with the counties as they are then.
ALTER TABLE rollup_geography_totals ADD COLUMN county_name text NOT NULL DEFAULT 'unknown';
UPDATE rollup_geography_totals t SET county_name = c.county_name FROM counties c WHERE c.county_fips = t.county_fips;
-- every writer names it from here on (apply_mail_fact_delta)
ALTER TABLE rollup_geography_totals ALTER COLUMN county_name DROP DEFAULT;
-- and its rate, computed when a row changes rather than for each of its ~10k rows on every read
ALTER TABLE rollup_geography_totals
  ADD COLUMN callback_rate numeric GENERATED ALWAYS AS (round(responders::numeric / nullif(pieces, 0), 4)) STORED;

-- Down Migration
-- the view is created again from sql/views by the next migrate
DROP VIEW IF EXISTS report_callbacks_by_geography;
ALTER TABLE rollup_geography_totals DROP COLUMN callback_rate, DROP COLUMN county_name;
