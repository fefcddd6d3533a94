-- Up Migration
-- call-matching was a materialized view over every call: refreshed after each call-center,
-- mortgage and barcode-map import, its cost grew with all of history (2M calls at the issue's
-- scale). It becomes a view of the same name and columns over a per-day rollup moved by deltas:
-- each statement on call_responses appends its grouped difference per call day to
-- report_call_deltas (no key: concurrent imports never wait on each other), and
-- refresh_call_rollups() folds them in with the other rollups (sql/functions/reports.sql).
DROP MATERIALIZED VIEW report_call_matching;
CREATE TABLE report_call_deltas (
  called_on          date NOT NULL,
  calls              bigint NOT NULL,
  by_tracking_code   bigint NOT NULL,
  by_mortgage_id     bigint NOT NULL,
  unmatched          bigint NOT NULL
);
CREATE TABLE rollup_call_matching (
  called_on          date PRIMARY KEY,
  calls              bigint NOT NULL,
  by_tracking_code   bigint NOT NULL,
  by_mortgage_id     bigint NOT NULL,
  unmatched          bigint NOT NULL
);
INSERT INTO rollup_call_matching
  SELECT (called_at AT TIME ZONE 'UTC')::date, count(*), count(*) FILTER (WHERE match_method = 'tracking_code'),
         count(*) FILTER (WHERE match_method = 'mortgage_id'), count(*) FILTER (WHERE match_method IS NULL)
  FROM call_responses GROUP BY 1;
-- the views' refresh marks name relations; a pending mark for the old materialized view goes
DELETE FROM report_stale_views WHERE view_name = 'report_call_matching';

-- Down Migration
DROP VIEW IF EXISTS report_call_matching;
DROP TABLE rollup_call_matching, report_call_deltas;
CREATE MATERIALIZED VIEW report_call_matching AS
  SELECT (r.called_at AT TIME ZONE 'UTC')::date AS called_on,
         count(*) AS calls,
         count(*) FILTER (WHERE r.match_method = 'tracking_code') AS by_tracking_code,
         count(*) FILTER (WHERE r.match_method = 'mortgage_id') AS by_mortgage_id,
         count(*) FILTER (WHERE r.match_method IS NULL) AS unmatched,
         round(count(*) FILTER (WHERE r.match_method IS NOT NULL)::numeric / count(*), 4) AS match_rate
  FROM call_responses r
  GROUP BY 1;
CREATE UNIQUE INDEX report_call_matching_key ON report_call_matching (called_on);
