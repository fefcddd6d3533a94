-- The reports read from the mail rollups (sql/functions/reports.sql keeps them): each is a
-- few-thousand-row aggregate, whatever the history. Catalogued in packages/core/src/reports/catalogue.ts.

-- What a mail piece contributes to the mail rollups, computed from the core tables (read by
-- refresh_mail_rollups for the dirty pieces, or for all of them in a full rebuild).
CREATE OR REPLACE VIEW report_piece_facts_source AS
SELECT m.tracking_code, m.mail_date, m.partner, m.campaign, m.mailer_version, m.piece_type,
       (mo.mortgage_id IS NOT NULL) AS has_mortgage, mo.property_state AS state, z.county_fips,
       (d.delivered_at AT TIME ZONE 'UTC')::date - m.mail_date AS delivery_days,
       coalesce(c.calls, 0)::bigint AS calls, coalesce(c.interested, 0)::bigint AS interested,
       coalesce(l.leads, 0)::bigint AS leads, coalesce(l.handed_off, 0)::bigint AS handed_off
FROM mail_piece_production m
LEFT JOIN mail_pieces p ON p.tracking_code = m.tracking_code AND p.partner = m.partner
LEFT JOIN mortgages mo ON mo.mortgage_id = p.mortgage_id AND mo.partner = p.partner
LEFT JOIN zip_counties z ON z.zip5 = mo.property_zip5
LEFT JOIN mail_piece_deliveries d ON d.tracking_code = p.tracking_code
LEFT JOIN LATERAL (
  SELECT count(*) AS calls, count(*) FILTER (WHERE r.disposition = 'interested') AS interested
  FROM call_responses r WHERE r.tracking_code = p.tracking_code
) c ON p.tracking_code IS NOT NULL
LEFT JOIN LATERAL (
  SELECT count(*) AS leads, count(h.lead_id) AS handed_off
  FROM leads ld LEFT JOIN lead_handoff_items h ON h.lead_id = ld.id WHERE ld.tracking_code = p.tracking_code
) l ON p.tracking_code IS NOT NULL;

-- 1. Response rate by mailer version, per campaign and mail week, each version against the
-- campaign-week's control (its first version in sort order, usually A): the difference in response
-- rate with its 95% confidence interval (unpooled standard error) and the two-proportion z-test
-- (pooled standard error) with its two-sided p-value. A responder is a piece with at least one call.
CREATE OR REPLACE VIEW report_ab_response AS
WITH v AS (
  SELECT campaign, date_trunc('week', mail_date)::date AS mail_week, mailer_version,
         sum(pieces)::bigint AS pieces, sum(responders)::bigint AS responders
  FROM rollup_mail_responses GROUP BY 1, 2, 3
), c AS (
  SELECT v.*, first_value(mailer_version) OVER w AS control_version,
         first_value(pieces) OVER w AS control_pieces, first_value(responders) OVER w AS control_responders
  FROM v WINDOW w AS (PARTITION BY campaign, mail_week ORDER BY mailer_version)
), s AS (
  SELECT c.*, responders::float8 / nullif(pieces, 0) AS p1, control_responders::float8 / nullif(control_pieces, 0) AS p0,
         (responders + control_responders)::float8 / nullif(pieces + control_pieces, 0) AS pooled
  FROM c
)
SELECT campaign, mail_week, mailer_version, pieces, responders, round(p1::numeric, 6) AS response_rate,
       control_version,
       CASE WHEN mailer_version <> control_version THEN round((p1 - p0)::numeric, 6) END AS diff_vs_control,
       CASE WHEN mailer_version <> control_version
            THEN round((p1 - p0 - 1.959964 * sqrt(p1 * (1 - p1) / pieces + p0 * (1 - p0) / control_pieces))::numeric, 6) END AS ci95_low,
       CASE WHEN mailer_version <> control_version
            THEN round((p1 - p0 + 1.959964 * sqrt(p1 * (1 - p1) / pieces + p0 * (1 - p0) / control_pieces))::numeric, 6) END AS ci95_high,
       CASE WHEN mailer_version <> control_version AND pooled > 0 AND pooled < 1
            THEN round(((p1 - p0) / sqrt(pooled * (1 - pooled) * (1.0 / pieces + 1.0 / control_pieces)))::numeric, 4) END AS z,
       CASE WHEN mailer_version <> control_version AND pooled > 0 AND pooled < 1
            THEN round(normal_two_sided_p((p1 - p0) / sqrt(pooled * (1 - pooled) * (1.0 / pieces + 1.0 / control_pieces)))::numeric, 6)
       END AS p_value
FROM s;

-- 2. Delivery performance by partner and mail week: pieces mailed, delivered (first delivery),
-- delivery rate, days from the mail date to the first delivery (median and p90, as percentile_disc).
CREATE OR REPLACE VIEW report_delivery_by_partner AS
WITH h AS (
  SELECT partner, date_trunc('week', mail_date)::date AS mail_week, delivery_days, sum(pieces)::bigint AS pieces
  FROM rollup_mail_delivery GROUP BY 1, 2, 3
), c AS (
  SELECT h.*, sum(pieces) FILTER (WHERE delivery_days IS NOT NULL) OVER (PARTITION BY partner, mail_week ORDER BY delivery_days
           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cumulative,
         sum(pieces) FILTER (WHERE delivery_days IS NOT NULL) OVER (PARTITION BY partner, mail_week) AS delivered
  FROM h
)
SELECT partner, mail_week, sum(pieces)::bigint AS mailed, coalesce(max(delivered), 0)::bigint AS delivered,
       round(coalesce(max(delivered), 0)::numeric / sum(pieces), 4) AS delivery_rate,
       min(delivery_days) FILTER (WHERE delivery_days IS NOT NULL AND cumulative >= 0.5 * delivered) AS median_days,
       min(delivery_days) FILTER (WHERE delivery_days IS NOT NULL AND cumulative >= 0.9 * delivered) AS p90_days
FROM c GROUP BY partner, mail_week;

-- 3. Callback rate by geography (state, county) and piece type, all time. The county is unknown
-- (county_fips NULL) when the mortgage's ZIP is not in zip_counties, or the piece has no mortgage yet.
-- The rollup carries the county's name and the rate (migration 201): read whole, the report is its
-- unique index scanned in the report's order.
CREATE OR REPLACE VIEW report_callbacks_by_geography AS
SELECT t.state, t.county_fips, t.county_name, t.piece_type, t.pieces, t.responders, t.calls, t.callback_rate
FROM rollup_geography_totals t;

-- 4. The funnel per partner and mail date (the cohort of pieces dropped that day): mortgages
-- mailed, pieces, delivered, calls, interested calls, leads, leads handed off.
CREATE OR REPLACE VIEW report_funnel AS
SELECT partner, mail_date, mortgages, pieces, delivered, calls, interested, leads, handed_off
FROM rollup_mail_funnel;

-- Geography of every mortgage (state as given, ZIP3, county from the ZIP table or unknown) and of
-- every call (its mortgage's; a call matched to no mortgage has none).
CREATE OR REPLACE VIEW mortgage_geography AS
SELECT m.mortgage_id, m.partner, m.property_state AS state, left(m.property_zip5, 3) AS zip3, m.property_zip5 AS zip5,
       z.county_fips, z.county_name
FROM mortgages m LEFT JOIN zip_counties z ON z.zip5 = m.property_zip5;

CREATE OR REPLACE VIEW call_geography AS
SELECT r.id AS call_id, r.called_at, r.disposition, r.match_method, g.mortgage_id, g.state, g.zip3, g.county_fips, g.county_name
FROM call_responses r LEFT JOIN mortgage_geography g ON g.mortgage_id = r.mortgage_id;

-- How many mortgages, for how much, each partner sent per closing day (was a materialized view).
CREATE OR REPLACE VIEW report_mortgages_by_partner_day AS
SELECT partner, closing_date, mortgages, total_loan_amount FROM rollup_mortgages_by_day;

-- For how many mortgages the county is known, per state and ZIP3.
CREATE OR REPLACE VIEW report_geography_coverage AS
SELECT state, zip3, mortgages, county_known, mortgages - county_known AS county_unknown FROM rollup_mortgage_zip3;

-- 9. Call-center matching per call day: by tracking code, by mortgage id, unmatched (was a
-- materialized view over every call; migration 210 keeps it as a rollup moved by deltas).
CREATE OR REPLACE VIEW report_call_matching AS
SELECT called_on, calls, by_tracking_code, by_mortgage_id, unmatched,
       round((calls - unmatched)::numeric / calls, 4) AS match_rate
FROM rollup_call_matching;
