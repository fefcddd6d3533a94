-- Up Migration
-- barcode-quality, rejects and lead-aging were materialized views refreshed after imports: each read
-- all of history (every mail piece and assignment per partner, every rejected row, every lead), 3.2 s
-- of the 7.5 s refresh after a day at the issue's scale. Each becomes a view of the same name and
-- columns over a rollup the refresh moves by what changed (sql/functions/reports_quality.sql):
-- - barcode-quality: per-partner counters moved by statement deltas (report_barcode_deltas, no key:
--   concurrent imports never wait on each other); pending backfill by the tracking codes whose
--   assignment or piece changed (report_dirty_barcodes), recomputed against the pending set folded
--   last (report_pending_barcodes: only the codes still waiting, not every piece);
-- - rejects: deltas per import, field, type and reason (report_reject_deltas), folded into a per-import
--   rollup (so a file is counted once however many rows it rejects) and the report's own grain;
-- - lead-aging: the (partner, day) groups whose leads or hand-offs changed (report_dirty_lead_days)
--   are recomputed from their own leads (its medians are not sums); the oldest waiting lead is kept
--   as a time, its hours counted at the report's data-as-of, as the view counted them at refresh.
-- The rollups start empty: the marker below asks the next refresh to build them in full (the
-- functions that do it are re-created after the migrations, sql/functions).
DROP MATERIALIZED VIEW report_barcode_quality, report_rejects, report_lead_aging;
DELETE FROM report_stale_views WHERE view_name IN ('report_barcode_quality', 'report_rejects', 'report_lead_aging');
INSERT INTO report_stale_views (view_name) VALUES ('quality-rollups:full');

CREATE TABLE report_barcode_deltas (
  partner            text NOT NULL,
  barcodes_assigned  bigint NOT NULL DEFAULT 0,
  mail_pieces        bigint NOT NULL DEFAULT 0,
  repaired           bigint NOT NULL DEFAULT 0,
  barcode_rejects    bigint NOT NULL DEFAULT 0,
  rejected           bigint NOT NULL DEFAULT 0,
  foreign_claims     bigint NOT NULL DEFAULT 0,
  pending_backfill   bigint NOT NULL DEFAULT 0
);
CREATE TABLE report_dirty_barcodes (
  tracking_code  text NOT NULL
);
-- assignments without a mail piece, as last folded into rollup_barcode_quality
CREATE TABLE report_pending_barcodes (
  tracking_code  text PRIMARY KEY,
  partner        text NOT NULL
);
CREATE TABLE rollup_barcode_quality (
  partner            text PRIMARY KEY,
  barcodes_assigned  bigint NOT NULL,
  mail_pieces        bigint NOT NULL,
  repaired           bigint NOT NULL,
  -- rows rejected on a barcode field, foreign claims or not: with the two counts above, whether the
  -- partner has a row in the report at all (as the view's list of partners said)
  barcode_rejects    bigint NOT NULL,
  rejected           bigint NOT NULL,
  foreign_claims     bigint NOT NULL,
  pending_backfill   bigint NOT NULL
);

CREATE TABLE report_reject_deltas (
  import_id       uuid NOT NULL,
  field           text NOT NULL,
  error_type      text NOT NULL,
  reason          text NOT NULL,
  rejected_rows   bigint NOT NULL,
  outstanding     bigint NOT NULL,
  rejected_later  bigint NOT NULL
);
-- per import: the report counts files, and a file must count once; the import's partner and source
-- are kept with the row, so its rejects can still be taken off after the import itself is gone
CREATE TABLE rollup_reject_imports (
  import_id       uuid NOT NULL,
  field           text NOT NULL,
  error_type      text NOT NULL,
  reason          text NOT NULL,
  partner         text,
  source          text,
  rejected_rows   bigint NOT NULL,
  outstanding     bigint NOT NULL,
  rejected_later  bigint NOT NULL,
  PRIMARY KEY (import_id, field, error_type, reason)
);
CREATE TABLE rollup_rejects (
  partner         text NOT NULL,
  source          text NOT NULL,
  field           text NOT NULL,
  error_type      text NOT NULL,
  reason          text NOT NULL,
  rejected_rows   bigint NOT NULL,
  outstanding     bigint NOT NULL,
  rejected_later  bigint NOT NULL,
  files           bigint NOT NULL,
  PRIMARY KEY (partner, source, field, error_type, reason)
);

CREATE TABLE report_dirty_lead_days (
  partner        text NOT NULL,
  interested_on  date NOT NULL
);
CREATE TABLE rollup_lead_aging (
  partner                  text NOT NULL,
  interested_on            date NOT NULL,
  leads                    bigint NOT NULL,
  handed_off               bigint NOT NULL,
  waiting                  bigint NOT NULL,
  median_hours_to_handoff  numeric,
  p90_hours_to_handoff     numeric,
  oldest_waiting_at        timestamptz,
  PRIMARY KEY (partner, interested_on)
);
-- a dirty day's leads, by index
CREATE INDEX leads_partner_interested_on ON leads (partner, ((interested_at AT TIME ZONE 'UTC')::date));

-- Down Migration
-- the triggers sql/functions/reports_quality.sql put on the core tables go first: they write to the tables dropped here
DO $$
DECLARE
  t text;
  g text;
BEGIN
  FOREACH t IN ARRAY ARRAY['barcode_assignments', 'mail_pieces', 'staging_mortgages', 'staging_barcode_map', 'import_rejects',
                           'leads', 'lead_handoff_items'] LOOP
    FOREACH g IN ARRAY ARRAY['insert', 'update_old', 'update_new', 'delete'] LOOP
      EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', 'report_quality_' || g, t);
    END LOOP;
  END LOOP;
END $$;
DROP FUNCTION IF EXISTS refresh_quality_rollups(boolean), refresh_lead_rollups(boolean), refresh_barcode_rollups(boolean),
  refresh_reject_rollups(boolean), barcode_changes(), reject_changes(), mark_dirty_lead_days();
DROP VIEW IF EXISTS report_barcode_quality, report_rejects, report_lead_aging, report_lead_aging_source;
DROP INDEX leads_partner_interested_on;
DROP TABLE rollup_lead_aging, report_dirty_lead_days, rollup_rejects, rollup_reject_imports, report_reject_deltas,
  rollup_barcode_quality, report_pending_barcodes, report_dirty_barcodes, report_barcode_deltas;
DELETE FROM report_stale_views WHERE view_name = 'quality-rollups:full';
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
