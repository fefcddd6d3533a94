-- The rollups of barcode-quality, rejects and lead-aging (migration 295): moved in the importing
-- transaction by statement-level triggers, folded by refresh_quality_rollups() with the mail rollups.
--
-- Rule: barcode-quality's counters move by each statement's difference, per partner.
--   An insert on barcode_assignments, mail_pieces or a barcode staging table adds its rows to the
--   partner's count (staged rows only when the decoder repaired them), a delete takes them off, an
--   update takes the old rows off and adds the new. A rejected row counts by its import's partner:
--   on a barcode field (imb, barcode_id, tracking_code) and not rejected later, it is "rejected";
--   rejected later (a foreign claim), on any field, it is a "foreign claim".
-- Rule: an assignment waits for backfill while no mail piece carries its tracking code.
--   Two tables decide it, so a difference computed inside one importing transaction could miss the
--   other's uncommitted half: the triggers only mark the tracking codes, and the refresh decides
--   them on its own snapshot against the pending set it folded last (report_pending_barcodes).
-- Rule: a rejects row is a group of rejected rows; a file counts once in it.
--   The rows move per import (rollup_reject_imports); a group's files move by one when an import's
--   count in it leaves or reaches zero.
-- Rule: lead-aging is recomputed per partner and day of the interested call.
--   Its medians are not sums: a change to a lead or its hand-off marks its (partner, day), and the
--   refresh recomputes those groups from their leads (report_lead_aging_source). The oldest waiting
--   lead is kept as its time; the report counts its hours at the report's data-as-of.

-- Each trigger reads the statement's rows as changed_rows with a sign (TG_ARGV[0]): +1 for an
-- insert's new rows and an update's new rows, -1 for a delete's and an update's old ones.
CREATE OR REPLACE FUNCTION barcode_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  s int := TG_ARGV[0]::int;
BEGIN
  IF TG_TABLE_NAME IN ('staging_mortgages', 'staging_barcode_map') THEN
    INSERT INTO report_barcode_deltas (partner, repaired)
      SELECT partner, s * count(*) FROM changed_rows WHERE imb_repaired GROUP BY partner;
    RETURN NULL;
  END IF;
  INSERT INTO report_barcode_deltas (partner, barcodes_assigned, mail_pieces)
    SELECT partner, CASE WHEN TG_TABLE_NAME = 'barcode_assignments' THEN s * count(*) ELSE 0 END,
           CASE WHEN TG_TABLE_NAME = 'mail_pieces' THEN s * count(*) ELSE 0 END
    FROM changed_rows GROUP BY partner;
  INSERT INTO report_dirty_barcodes (tracking_code) SELECT tracking_code FROM changed_rows;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION reject_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  s int := TG_ARGV[0]::int;
BEGIN
  INSERT INTO report_reject_deltas (import_id, field, error_type, reason, rejected_rows, outstanding, rejected_later)
    SELECT import_id, coalesce(field_name, '-'), error_type, error_message, s * count(*),
           s * count(*) FILTER (WHERE resolved_by IS NULL), s * count(*) FILTER (WHERE rejected_later_by IS NOT NULL)
    FROM changed_rows GROUP BY 1, 2, 3, 4;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION mark_dirty_lead_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'lead_handoff_items' THEN
    INSERT INTO report_dirty_lead_days (partner, interested_on)
      SELECT DISTINCT l.partner, (l.interested_at AT TIME ZONE 'UTC')::date FROM changed_rows c JOIN leads l ON l.id = c.lead_id;
  ELSE
    INSERT INTO report_dirty_lead_days (partner, interested_on)
      SELECT DISTINCT partner, (interested_at AT TIME ZONE 'UTC')::date FROM changed_rows;
  END IF;
  RETURN NULL;
END $$;

DO $$
DECLARE
  t record;
BEGIN
  FOR t IN SELECT * FROM (VALUES ('barcode_assignments', 'barcode_changes'), ('mail_pieces', 'barcode_changes'),
                                 ('staging_mortgages', 'barcode_changes'), ('staging_barcode_map', 'barcode_changes'),
                                 ('import_rejects', 'reject_changes'), ('leads', 'mark_dirty_lead_days'),
                                 ('lead_handoff_items', 'mark_dirty_lead_days')) v (tab, fn) LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS report_quality_insert ON %I', t.tab);
    EXECUTE format('CREATE TRIGGER report_quality_insert AFTER INSERT ON %I REFERENCING NEW TABLE AS changed_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION %I(''1'')', t.tab, t.fn);
    EXECUTE format('DROP TRIGGER IF EXISTS report_quality_update_old ON %I', t.tab);
    EXECUTE format('CREATE TRIGGER report_quality_update_old AFTER UPDATE ON %I REFERENCING OLD TABLE AS changed_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION %I(''-1'')', t.tab, t.fn);
    EXECUTE format('DROP TRIGGER IF EXISTS report_quality_update_new ON %I', t.tab);
    EXECUTE format('CREATE TRIGGER report_quality_update_new AFTER UPDATE ON %I REFERENCING NEW TABLE AS changed_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION %I(''1'')', t.tab, t.fn);
    EXECUTE format('DROP TRIGGER IF EXISTS report_quality_delete ON %I', t.tab);
    EXECUTE format('CREATE TRIGGER report_quality_delete AFTER DELETE ON %I REFERENCING OLD TABLE AS changed_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION %I(''-1'')', t.tab, t.fn);
  END LOOP;
END $$;

-- Folds the reject deltas into rollup_reject_imports and rollup_rejects, and appends each partner's
-- barcode counters to report_barcode_deltas (for refresh_barcode_rollups, run after). Full: rebuilt
-- from import_rejects. Returns the groups moved.
CREATE OR REPLACE FUNCTION refresh_reject_rollups(p_full boolean) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_rows bigint;
BEGIN
  DROP TABLE IF EXISTS pg_temp.report_reject_moved;
  IF p_full THEN
    DELETE FROM report_reject_deltas;
    DELETE FROM rollup_reject_imports;
    DELETE FROM rollup_rejects;
    INSERT INTO rollup_reject_imports
      SELECT r.import_id, coalesce(r.field_name, '-'), r.error_type, r.error_message, i.partner, i.source, count(*),
             count(*) FILTER (WHERE r.resolved_by IS NULL), count(*) FILTER (WHERE r.rejected_later_by IS NOT NULL)
      FROM import_rejects r JOIN imports i ON i.id = r.import_id GROUP BY 1, 2, 3, 4, 5, 6;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    INSERT INTO rollup_rejects
      SELECT coalesce(partner, '-'), coalesce(source, '(unknown)'), field, error_type, reason, sum(rejected_rows),
             sum(outstanding), sum(rejected_later), count(*)
      FROM rollup_reject_imports GROUP BY 1, 2, 3, 4, 5;
    RETURN v_rows;
  END IF;
  -- each moved group with its count before the move and its import's partner and source (from the
  -- rollup row when there is one: the import may be gone, its rejects deleted with it)
  CREATE TEMP TABLE report_reject_moved ON COMMIT DROP AS
    WITH taken AS (DELETE FROM report_reject_deltas RETURNING *),
    b AS (
      SELECT import_id, field, error_type, reason, sum(rejected_rows) AS rejected_rows, sum(outstanding) AS outstanding,
             sum(rejected_later) AS rejected_later
      FROM taken GROUP BY 1, 2, 3, 4
      HAVING sum(rejected_rows) <> 0 OR sum(outstanding) <> 0 OR sum(rejected_later) <> 0
    )
    SELECT b.*, coalesce(r.rejected_rows, 0) AS old_rows,
           CASE WHEN r.import_id IS NOT NULL THEN r.partner ELSE i.partner END AS partner,
           CASE WHEN r.import_id IS NOT NULL THEN r.source ELSE i.source END AS source
    FROM b LEFT JOIN rollup_reject_imports r USING (import_id, field, error_type, reason)
    LEFT JOIN imports i ON i.id = b.import_id;
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  IF v_rows = 0 THEN RETURN 0; END IF;
  INSERT INTO rollup_reject_imports AS r
    SELECT import_id, field, error_type, reason, partner, source, rejected_rows, outstanding, rejected_later
    FROM report_reject_moved
  ON CONFLICT (import_id, field, error_type, reason) DO UPDATE
    SET rejected_rows = r.rejected_rows + excluded.rejected_rows, outstanding = r.outstanding + excluded.outstanding,
        rejected_later = r.rejected_later + excluded.rejected_later;
  DELETE FROM rollup_reject_imports r USING report_reject_moved m
   WHERE (r.import_id, r.field, r.error_type, r.reason) = (m.import_id, m.field, m.error_type, m.reason) AND r.rejected_rows = 0;
  INSERT INTO rollup_rejects AS r
    SELECT coalesce(partner, '-'), coalesce(source, '(unknown)'), field, error_type, reason, sum(rejected_rows), sum(outstanding),
           sum(rejected_later), sum((old_rows + rejected_rows > 0)::int - (old_rows > 0)::int)
    FROM report_reject_moved GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (partner, source, field, error_type, reason) DO UPDATE
    SET rejected_rows = r.rejected_rows + excluded.rejected_rows, outstanding = r.outstanding + excluded.outstanding,
        rejected_later = r.rejected_later + excluded.rejected_later, files = r.files + excluded.files;
  DELETE FROM rollup_rejects r USING report_reject_moved m
   WHERE (r.partner, r.source, r.field, r.error_type, r.reason)
       = (coalesce(m.partner, '-'), coalesce(m.source, '(unknown)'), m.field, m.error_type, m.reason)
     AND r.rejected_rows = 0;
  INSERT INTO report_barcode_deltas (partner, barcode_rejects, rejected, foreign_claims)
    SELECT partner, coalesce(sum(rejected_rows) FILTER (WHERE field IN ('imb', 'barcode_id', 'tracking_code')), 0),
           coalesce(sum(rejected_rows - rejected_later) FILTER (WHERE field IN ('imb', 'barcode_id', 'tracking_code')), 0),
           sum(rejected_later)
    FROM report_reject_moved WHERE partner IS NOT NULL GROUP BY partner;
  DROP TABLE pg_temp.report_reject_moved;
  RETURN v_rows;
END $$;

-- Decides the marked tracking codes' pending state and folds the barcode deltas into
-- rollup_barcode_quality. Full: rebuilt from the core and staging tables (after the reject rollups).
-- Returns the tracking codes decided (every pending one when full).
CREATE OR REPLACE FUNCTION refresh_barcode_rollups(p_full boolean) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_codes bigint;
BEGIN
  DROP TABLE IF EXISTS pg_temp.report_barcode_batch;
  IF p_full THEN
    DELETE FROM report_barcode_deltas;
    DELETE FROM report_dirty_barcodes;
    DELETE FROM report_pending_barcodes;
    DELETE FROM rollup_barcode_quality;
    INSERT INTO report_pending_barcodes
      SELECT a.tracking_code, a.partner FROM barcode_assignments a
      WHERE NOT EXISTS (SELECT 1 FROM mail_pieces m WHERE m.tracking_code = a.tracking_code);
    GET DIAGNOSTICS v_codes = ROW_COUNT;
    INSERT INTO rollup_barcode_quality
      SELECT partner, sum(assigned), sum(pieces), sum(repaired), sum(barcode_rejects), sum(rejected), sum(foreign_claims), sum(pending)
      FROM (
        SELECT partner, count(*) AS assigned, 0 AS pieces, 0 AS repaired, 0 AS barcode_rejects, 0 AS rejected, 0 AS foreign_claims,
               0 AS pending
        FROM barcode_assignments GROUP BY partner
        UNION ALL SELECT partner, 0, count(*), 0, 0, 0, 0, 0 FROM mail_pieces GROUP BY partner
        UNION ALL SELECT partner, 0, 0, count(*), 0, 0, 0, 0 FROM staging_barcode_map WHERE imb_repaired GROUP BY partner
        UNION ALL SELECT partner, 0, 0, count(*), 0, 0, 0, 0 FROM staging_mortgages WHERE imb_repaired GROUP BY partner
        UNION ALL SELECT partner, 0, 0, 0, coalesce(sum(rejected_rows) FILTER (WHERE field IN ('imb', 'barcode_id', 'tracking_code')), 0),
                         coalesce(sum(rejected_rows - rejected_later) FILTER (WHERE field IN ('imb', 'barcode_id', 'tracking_code')), 0),
                         sum(rejected_later), 0
                  FROM rollup_reject_imports WHERE partner IS NOT NULL GROUP BY partner
        UNION ALL SELECT partner, 0, 0, 0, 0, 0, 0, count(*) FROM report_pending_barcodes GROUP BY partner
      ) c GROUP BY partner;
    RETURN v_codes;
  END IF;
  CREATE TEMP TABLE report_barcode_batch ON COMMIT DROP AS
    WITH taken AS (DELETE FROM report_dirty_barcodes RETURNING tracking_code)
    SELECT DISTINCT tracking_code FROM taken ORDER BY tracking_code;
  GET DIAGNOSTICS v_codes = ROW_COUNT;
  IF v_codes > 0 THEN
    ANALYZE report_barcode_batch;
    WITH old AS (
      DELETE FROM report_pending_barcodes p WHERE p.tracking_code = ANY (ARRAY(SELECT tracking_code FROM report_barcode_batch))
      RETURNING p.partner
    )
    INSERT INTO report_barcode_deltas (partner, pending_backfill) SELECT partner, -count(*) FROM old GROUP BY partner;
    -- each code on its own (OFFSET 0): by the two tables' key indexes, never a hash of either
    WITH new AS (
      INSERT INTO report_pending_barcodes
        SELECT a.tracking_code, a.partner FROM report_barcode_batch d
        CROSS JOIN LATERAL (
          SELECT a.tracking_code, a.partner FROM barcode_assignments a
          WHERE a.tracking_code = d.tracking_code AND NOT EXISTS (SELECT 1 FROM mail_pieces m WHERE m.tracking_code = a.tracking_code)
          OFFSET 0
        ) a
      RETURNING partner
    )
    INSERT INTO report_barcode_deltas (partner, pending_backfill) SELECT partner, count(*) FROM new GROUP BY partner;
  END IF;
  WITH taken AS (DELETE FROM report_barcode_deltas RETURNING *)
  INSERT INTO rollup_barcode_quality AS r
    SELECT partner, sum(barcodes_assigned), sum(mail_pieces), sum(repaired), sum(barcode_rejects), sum(rejected),
           sum(foreign_claims), sum(pending_backfill)
    FROM taken GROUP BY partner
  ON CONFLICT (partner) DO UPDATE
    SET barcodes_assigned = r.barcodes_assigned + excluded.barcodes_assigned, mail_pieces = r.mail_pieces + excluded.mail_pieces,
        repaired = r.repaired + excluded.repaired, barcode_rejects = r.barcode_rejects + excluded.barcode_rejects,
        rejected = r.rejected + excluded.rejected, foreign_claims = r.foreign_claims + excluded.foreign_claims,
        pending_backfill = r.pending_backfill + excluded.pending_backfill;
  DELETE FROM rollup_barcode_quality
   WHERE (barcodes_assigned, mail_pieces, repaired, barcode_rejects, rejected, foreign_claims, pending_backfill) = (0, 0, 0, 0, 0, 0, 0);
  DROP TABLE IF EXISTS pg_temp.report_barcode_batch;
  RETURN v_codes;
END $$;

-- Recomputes the marked (partner, day) groups of lead-aging from their leads; full: every group.
-- Returns the groups recomputed.
CREATE OR REPLACE FUNCTION refresh_lead_rollups(p_full boolean) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_days bigint;
BEGIN
  DROP TABLE IF EXISTS pg_temp.report_lead_day_batch;
  IF p_full THEN
    DELETE FROM report_dirty_lead_days;
    DELETE FROM rollup_lead_aging;
    INSERT INTO rollup_lead_aging SELECT * FROM report_lead_aging_source;
    GET DIAGNOSTICS v_days = ROW_COUNT;
    RETURN v_days;
  END IF;
  CREATE TEMP TABLE report_lead_day_batch ON COMMIT DROP AS
    WITH taken AS (DELETE FROM report_dirty_lead_days RETURNING *) SELECT DISTINCT partner, interested_on FROM taken;
  GET DIAGNOSTICS v_days = ROW_COUNT;
  IF v_days = 0 THEN RETURN 0; END IF;
  DELETE FROM rollup_lead_aging r USING report_lead_day_batch d
   WHERE r.partner = d.partner AND r.interested_on = d.interested_on;
  -- each group from its own leads, by the (partner, day) index: OFFSET 0 keeps the look-up per group
  -- (without it the planner pulls the view up and groups every lead, then hash-joins the batch)
  INSERT INTO rollup_lead_aging
    SELECT s.* FROM report_lead_day_batch d
    CROSS JOIN LATERAL (
      SELECT * FROM report_lead_aging_source s WHERE s.partner = d.partner AND s.interested_on = d.interested_on OFFSET 0
    ) s;
  DROP TABLE pg_temp.report_lead_day_batch;
  RETURN v_days;
END $$;

-- The three in the order they depend on each other (the reject fold feeds the barcode counters).
CREATE OR REPLACE FUNCTION refresh_quality_rollups(p_full boolean DEFAULT false)
RETURNS TABLE (reject_groups bigint, barcodes bigint, lead_days bigint) LANGUAGE plpgsql AS $$
BEGIN
  reject_groups := refresh_reject_rollups(p_full);
  barcodes := refresh_barcode_rollups(p_full);
  lead_days := refresh_lead_rollups(p_full);
  RETURN NEXT;
END $$;
