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

-- lead-aging per partner and day of the interested call, as the materialized view computed it, with
-- the oldest waiting lead's time (the report counts its hours)
CREATE OR REPLACE VIEW report_lead_aging_source AS
SELECT l.partner, (l.interested_at AT TIME ZONE 'UTC')::date AS interested_on,
       count(*) AS leads,
       count(h.lead_id) AS handed_off,
       count(*) - count(h.lead_id) AS waiting,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM h.handed_off_at - l.interested_at) / 3600)
              FILTER (WHERE h.lead_id IS NOT NULL))::numeric, 1) AS median_hours_to_handoff,
       round((percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM h.handed_off_at - l.interested_at) / 3600)
              FILTER (WHERE h.lead_id IS NOT NULL))::numeric, 1) AS p90_hours_to_handoff,
       min(l.interested_at) FILTER (WHERE h.lead_id IS NULL) AS oldest_waiting_at
FROM leads l LEFT JOIN lead_handoff_items h ON h.lead_id = l.id
GROUP BY 1, 2;

-- 5. Lead aging per partner and day of the interested call (was a materialized view over every lead;
-- migration 295 keeps it as a rollup recomputed per dirty day). The oldest waiting lead's hours are
-- counted at the report's data-as-of, as the materialized view counted them at its refresh.
CREATE OR REPLACE VIEW report_lead_aging AS
SELECT r.partner, r.interested_on, r.leads, r.handed_off, r.waiting, r.median_hours_to_handoff, r.p90_hours_to_handoff,
       round((extract(epoch FROM f.data_as_of - r.oldest_waiting_at) / 3600)::numeric, 1) AS oldest_waiting_hours
FROM rollup_lead_aging r LEFT JOIN report_refreshes f ON f.report = 'lead-aging';

-- 7. Rejects by partner, source, field, error type and reason (was a materialized view over every
-- rejected row; migration 295 keeps it as a rollup moved by deltas).
CREATE OR REPLACE VIEW report_rejects AS
SELECT partner, source, field, error_type, reason, rejected_rows, outstanding, rejected_later, files FROM rollup_rejects;

-- 8. Barcode quality per partner (was a materialized view counting every piece and assignment;
-- migration 295 keeps it as a rollup). A partner is shown once it has an assignment, a piece or a
-- row rejected on a barcode field, as the view listed them.
CREATE OR REPLACE VIEW report_barcode_quality AS
SELECT partner, barcodes_assigned, mail_pieces, repaired, rejected, foreign_claims, pending_backfill
FROM rollup_barcode_quality WHERE barcodes_assigned > 0 OR mail_pieces > 0 OR barcode_rejects > 0;
