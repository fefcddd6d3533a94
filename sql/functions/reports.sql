-- Rule: a report's rollups follow the data in the transaction that changed it.
--   Every statement that adds, changes or removes a mail piece's production, link, delivery, calls,
--   leads or hand-offs (or its mortgage's address) records the piece in report_dirty_pieces, in its
--   own transaction: an import that rolls back marks nothing, one that commits is never missed.
-- Rule: a rollup moves by each dirty piece's difference, in one transaction.
--   refresh_mail_rollups() takes the dirty pieces it can see, recomputes their facts from the core
--   tables, adds (new facts - facts last folded) to every mail rollup and stores the new facts;
--   readers see the rollups before or after, never a half. Pieces marked by imports that commit
--   meanwhile stay marked for the next refresh. The cost follows the day's events, not the history.

-- Two-sided p-value of a standard normal z (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).
CREATE OR REPLACE FUNCTION normal_two_sided_p(z double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  -- beyond |z| = 8 the p-value is below 1.3e-15 (and exp() would underflow far out): 0
  SELECT CASE WHEN z IS NULL THEN NULL WHEN abs(z) > 8 THEN 0 ELSE (
    WITH x AS (SELECT abs(z) / sqrt(2.0) AS x), t AS (SELECT x, 1.0 / (1.0 + 0.3275911 * x) AS t FROM x)
    SELECT least(1.0, greatest(0.0, t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
           * exp(-x * x)))
    FROM t) END;
$$;

-- The dirty-day triggers: one statement-level trigger per table and event, reading the statement's
-- transition table (so a 50k-row chunk costs one set-based insert, not 50k).
CREATE OR REPLACE FUNCTION mark_dirty_pieces() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'lead_handoff_items' THEN
    INSERT INTO report_dirty_pieces (tracking_code)
      SELECT DISTINCT l.tracking_code FROM changed_rows c JOIN leads l ON l.id = c.lead_id;
  ELSE
    INSERT INTO report_dirty_pieces (tracking_code)
      SELECT DISTINCT tracking_code FROM changed_rows WHERE tracking_code IS NOT NULL;
  END IF;
  RETURN NULL;
END $$;

-- Rule: the mortgage rollups move by the statement's grouped difference.
--   An insert adds its rows, a delete takes them off, an update takes the old values off and adds
--   the new ones (only rows whose closing date, amount, state or ZIP changed); an address change
--   also marks its pieces, whose geography moved. Each statement's difference is written at the two
--   grains the rollups read, in one pass (GROUPING SETS): 'day' (partner, closing date: count and
--   amount) and 'zip' (partner, state, ZIP5: count), a few thousand rows for a 50k-row chunk.
CREATE OR REPLACE FUNCTION mortgage_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO report_mortgage_deltas (grain, partner, closing_date, state, zip5, mortgages, total_loan_amount)
    SELECT CASE grouping(closing_date) WHEN 0 THEN 'day' ELSE 'zip' END,
           partner, closing_date, property_state, property_zip5, count(*), coalesce(sum(loan_amount), 0)
    FROM new_rows GROUP BY GROUPING SETS ((partner, closing_date), (partner, property_state, property_zip5));
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO report_mortgage_deltas (grain, partner, closing_date, state, zip5, mortgages, total_loan_amount)
    SELECT CASE grouping(closing_date) WHEN 0 THEN 'day' ELSE 'zip' END,
           partner, closing_date, property_state, property_zip5, -count(*), -coalesce(sum(loan_amount), 0)
    FROM old_rows GROUP BY GROUPING SETS ((partner, closing_date), (partner, property_state, property_zip5));
  ELSE
    INSERT INTO report_mortgage_deltas (grain, partner, closing_date, state, zip5, mortgages, total_loan_amount)
    SELECT CASE grouping(closing_date) WHEN 0 THEN 'day' ELSE 'zip' END,
           partner, closing_date, state, zip5, sum(n), coalesce(sum(amount), 0) FROM (
      SELECT n.partner, n.closing_date, n.property_state AS state, n.property_zip5 AS zip5, 1 AS n, n.loan_amount AS amount
      FROM new_rows n JOIN old_rows o USING (mortgage_id)
      WHERE (n.closing_date, n.loan_amount, n.property_state, n.property_zip5) IS DISTINCT FROM (o.closing_date, o.loan_amount, o.property_state, o.property_zip5)
      UNION ALL
      SELECT o.partner, o.closing_date, o.property_state, o.property_zip5, -1, -o.loan_amount
      FROM new_rows n JOIN old_rows o USING (mortgage_id)
      WHERE (n.closing_date, n.loan_amount, n.property_state, n.property_zip5) IS DISTINCT FROM (o.closing_date, o.loan_amount, o.property_state, o.property_zip5)
    ) d GROUP BY GROUPING SETS ((partner, closing_date), (partner, state, zip5));
    INSERT INTO report_dirty_pieces (tracking_code)
      SELECT DISTINCT p.tracking_code FROM new_rows c JOIN old_rows o USING (mortgage_id)
      JOIN mail_pieces p ON p.mortgage_id = c.mortgage_id
      WHERE (c.property_zip5, c.property_state) IS DISTINCT FROM (o.property_zip5, o.property_state);
  END IF;
  RETURN NULL;
END $$;

-- Rule: call-matching moves by the statement's grouped difference per call day (UTC).
--   An insert adds its calls, a delete takes them off, an update moves only the calls whose day or
--   match method changed (old off, new on). The same statement marks the calls' pieces dirty (old and
--   new tracking codes), so a call-center chunk costs one trigger per statement, not two.
CREATE OR REPLACE FUNCTION call_response_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO report_dirty_pieces (tracking_code) SELECT DISTINCT tracking_code FROM new_rows WHERE tracking_code IS NOT NULL;
    INSERT INTO report_call_deltas
      SELECT day, sum(s), coalesce(sum(s) FILTER (WHERE how = 'tracking_code'), 0),
             coalesce(sum(s) FILTER (WHERE how = 'mortgage_id'), 0), coalesce(sum(s) FILTER (WHERE how IS NULL), 0)
      FROM (SELECT (called_at AT TIME ZONE 'UTC')::date AS day, match_method AS how, 1 AS s FROM new_rows) d GROUP BY day;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO report_dirty_pieces (tracking_code) SELECT DISTINCT tracking_code FROM old_rows WHERE tracking_code IS NOT NULL;
    INSERT INTO report_call_deltas
      SELECT day, sum(s), coalesce(sum(s) FILTER (WHERE how = 'tracking_code'), 0),
             coalesce(sum(s) FILTER (WHERE how = 'mortgage_id'), 0), coalesce(sum(s) FILTER (WHERE how IS NULL), 0)
      FROM (SELECT (called_at AT TIME ZONE 'UTC')::date AS day, match_method AS how, -1 AS s FROM old_rows) d GROUP BY day;
  ELSE
    INSERT INTO report_dirty_pieces (tracking_code)
      SELECT tracking_code FROM old_rows WHERE tracking_code IS NOT NULL
      UNION SELECT tracking_code FROM new_rows WHERE tracking_code IS NOT NULL;
    INSERT INTO report_call_deltas
      SELECT day, sum(s), coalesce(sum(s) FILTER (WHERE how = 'tracking_code'), 0),
             coalesce(sum(s) FILTER (WHERE how = 'mortgage_id'), 0), coalesce(sum(s) FILTER (WHERE how IS NULL), 0)
      FROM (
        SELECT (x.called_at AT TIME ZONE 'UTC')::date AS day, x.match_method AS how, x.s
        FROM new_rows n JOIN old_rows o USING (id),
             LATERAL (VALUES (n.called_at, n.match_method, 1), (o.called_at, o.match_method, -1)) x (called_at, match_method, s)
        WHERE ((n.called_at AT TIME ZONE 'UTC')::date, n.match_method) IS DISTINCT FROM ((o.called_at AT TIME ZONE 'UTC')::date, o.match_method)
      ) d GROUP BY day;
  END IF;
  RETURN NULL;
END $$;

DO $$
DECLARE
  t text;
BEGIN
  -- call_responses has its own triggers (call_response_changes), which mark its pieces too
  DROP TRIGGER IF EXISTS report_dirty_insert ON call_responses;
  DROP TRIGGER IF EXISTS report_dirty_update ON call_responses;
  DROP TRIGGER IF EXISTS report_dirty_delete ON call_responses;
  DROP TRIGGER IF EXISTS report_dirty_update_new ON call_responses;
  DROP TRIGGER IF EXISTS report_calls_insert ON call_responses;
  DROP TRIGGER IF EXISTS report_calls_update ON call_responses;
  DROP TRIGGER IF EXISTS report_calls_delete ON call_responses;
  CREATE TRIGGER report_calls_insert AFTER INSERT ON call_responses REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION call_response_changes();
  CREATE TRIGGER report_calls_update AFTER UPDATE ON call_responses REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION call_response_changes();
  CREATE TRIGGER report_calls_delete AFTER DELETE ON call_responses REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION call_response_changes();
  FOREACH t IN ARRAY ARRAY['mail_piece_production', 'mail_pieces', 'mail_piece_deliveries', 'leads', 'lead_handoff_items'] LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS report_dirty_insert ON %I', t);
    EXECUTE format('CREATE TRIGGER report_dirty_insert AFTER INSERT ON %I REFERENCING NEW TABLE AS changed_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION mark_dirty_pieces()', t);
    EXECUTE format('DROP TRIGGER IF EXISTS report_dirty_update ON %I', t);
    -- an update's old days too (a mail date moved, a call re-matched to another piece)
    EXECUTE format('CREATE TRIGGER report_dirty_update AFTER UPDATE ON %I REFERENCING OLD TABLE AS changed_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION mark_dirty_pieces()', t);
    EXECUTE format('DROP TRIGGER IF EXISTS report_dirty_delete ON %I', t);
    EXECUTE format('CREATE TRIGGER report_dirty_delete AFTER DELETE ON %I REFERENCING OLD TABLE AS changed_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION mark_dirty_pieces()', t);
    EXECUTE format('DROP TRIGGER IF EXISTS report_dirty_update_new ON %I', t);
    EXECUTE format('CREATE TRIGGER report_dirty_update_new AFTER UPDATE ON %I REFERENCING NEW TABLE AS changed_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION mark_dirty_pieces()', t);
  END LOOP;
  DROP TRIGGER IF EXISTS report_mortgages_insert ON mortgages;
  DROP TRIGGER IF EXISTS report_mortgages_update ON mortgages;
  DROP TRIGGER IF EXISTS report_mortgages_delete ON mortgages;
  CREATE TRIGGER report_mortgages_insert AFTER INSERT ON mortgages REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mortgage_deltas();
  CREATE TRIGGER report_mortgages_update AFTER UPDATE ON mortgages REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mortgage_deltas();
  CREATE TRIGGER report_mortgages_delete AFTER DELETE ON mortgages REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mortgage_deltas();
END $$;

-- Adds the facts in pg_temp.report_fact_delta (with their sign) to every mail rollup and drops rows
-- that fall to zero.
CREATE OR REPLACE FUNCTION apply_mail_fact_delta() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO rollup_mail_responses AS r
  SELECT mail_date, partner, campaign, mailer_version, piece_type,
         sum(sign), sum(sign * (calls > 0)::int), sum(sign * calls), sum(sign * interested)
  FROM report_fact_delta GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (mail_date, partner, campaign, mailer_version, piece_type) DO UPDATE
    SET pieces = r.pieces + excluded.pieces, responders = r.responders + excluded.responders,
        calls = r.calls + excluded.calls, interested = r.interested + excluded.interested;
  DELETE FROM rollup_mail_responses WHERE pieces = 0 AND responders = 0 AND calls = 0 AND interested = 0;

  INSERT INTO rollup_mail_delivery AS r
  SELECT mail_date, partner, delivery_days, sum(sign) FROM report_fact_delta GROUP BY 1, 2, 3
  ON CONFLICT (mail_date, partner, delivery_days) DO UPDATE SET pieces = r.pieces + excluded.pieces;
  DELETE FROM rollup_mail_delivery WHERE pieces = 0;

  INSERT INTO rollup_mail_funnel AS r
  SELECT mail_date, partner, sum(sign * has_mortgage::int), sum(sign), sum(sign * (delivery_days IS NOT NULL)::int),
         sum(sign * calls), sum(sign * interested), sum(sign * leads), sum(sign * handed_off)
  FROM report_fact_delta GROUP BY 1, 2
  ON CONFLICT (mail_date, partner) DO UPDATE
    SET mortgages = r.mortgages + excluded.mortgages, pieces = r.pieces + excluded.pieces, delivered = r.delivered + excluded.delivered,
        calls = r.calls + excluded.calls, interested = r.interested + excluded.interested, leads = r.leads + excluded.leads,
        handed_off = r.handed_off + excluded.handed_off;
  DELETE FROM rollup_mail_funnel WHERE pieces = 0 AND mortgages = 0 AND delivered = 0 AND calls = 0 AND leads = 0;

  -- the county's name is written with the row (the report reads the rollup alone, in its index order);
  -- a new ZIP table rebuilds every row (FULL_MAIL_REBUILD), so names never go stale
  INSERT INTO rollup_geography_totals AS t (state, county_fips, county_name, piece_type, pieces, responders, calls)
  SELECT d.state, d.county_fips, coalesce(c.county_name, 'unknown'), d.piece_type, d.pieces, d.responders, d.calls
  FROM (SELECT state, county_fips, piece_type, sum(sign) AS pieces, sum(sign * (calls > 0)::int) AS responders,
               sum(sign * calls) AS calls
        FROM report_fact_delta GROUP BY 1, 2, 3) d
  LEFT JOIN counties c ON c.county_fips = d.county_fips
  ON CONFLICT (state, county_fips, piece_type) DO UPDATE
    SET pieces = t.pieces + excluded.pieces, responders = t.responders + excluded.responders, calls = t.calls + excluded.calls;
  DELETE FROM rollup_geography_totals WHERE pieces = 0 AND responders = 0 AND calls = 0;
END $$;

-- Drains the dirty pieces this transaction can see and moves the rollups by their difference;
-- p_full rebuilds the facts and every mail rollup from the core tables. Returns the pieces done.
CREATE OR REPLACE FUNCTION refresh_mail_rollups(p_full boolean DEFAULT false) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_pieces bigint;
BEGIN
  DROP TABLE IF EXISTS pg_temp.report_dirty_batch, pg_temp.report_fact_delta;
  IF p_full THEN
    DELETE FROM report_dirty_pieces;
    DELETE FROM report_piece_facts;
    DELETE FROM rollup_mail_responses;
    DELETE FROM rollup_mail_delivery;
    DELETE FROM rollup_mail_funnel;
    DELETE FROM rollup_geography_totals;
    INSERT INTO report_piece_facts SELECT * FROM report_piece_facts_source;
    GET DIAGNOSTICS v_pieces = ROW_COUNT;
    CREATE TEMP TABLE report_fact_delta ON COMMIT DROP AS SELECT f.*, 1 AS sign FROM report_piece_facts f;
  ELSE
    -- in key order, so the look-ups below walk each index forward
    CREATE TEMP TABLE report_dirty_batch ON COMMIT DROP AS
      WITH taken AS (DELETE FROM report_dirty_pieces RETURNING tracking_code)
      SELECT DISTINCT tracking_code FROM taken ORDER BY tracking_code;
    GET DIAGNOSTICS v_pieces = ROW_COUNT;
    IF v_pieces = 0 THEN RETURN 0; END IF;
    ANALYZE report_dirty_batch;
    -- The old facts leave with their rows (one index look-up each). The new ones are looked up piece
    -- by piece: OFFSET 0 keeps the view a per-piece subquery, so each of its tables is reached by its
    -- key index. Joined as a set, the planner hashes the whole production, pieces, mortgages and
    -- deliveries tables once the batch is a few percent of them, and the refresh grows with history.
    CREATE TEMP TABLE report_fact_delta ON COMMIT DROP AS
      WITH old AS (
        DELETE FROM report_piece_facts f WHERE f.tracking_code = ANY (ARRAY(SELECT tracking_code FROM report_dirty_batch))
        RETURNING f.*
      )
      SELECT old.*, -1 AS sign FROM old;
    INSERT INTO report_fact_delta
      SELECT v.*, 1 FROM report_dirty_batch d
      CROSS JOIN LATERAL (SELECT * FROM report_piece_facts_source s WHERE s.tracking_code = d.tracking_code OFFSET 0) v;
    INSERT INTO report_piece_facts
      SELECT tracking_code, mail_date, partner, campaign, mailer_version, piece_type, has_mortgage, state, county_fips, delivery_days,
             calls, interested, leads, handed_off
      FROM report_fact_delta WHERE sign = 1;
  END IF;
  PERFORM apply_mail_fact_delta();
  -- a rebuild rewrote every rollup row: the planner learns their sizes now, not when autovacuum
  -- comes by (with none, a report read whole may be planned as a sort instead of its index's order)
  IF p_full THEN
    ANALYZE rollup_mail_responses, rollup_mail_delivery, rollup_mail_funnel, rollup_geography_totals;
  END IF;
  DROP TABLE IF EXISTS pg_temp.report_dirty_batch, pg_temp.report_fact_delta;
  RETURN v_pieces;
END $$;

-- Folds the call deltas this transaction can see into rollup_call_matching; p_full rebuilds it from
-- the calls (nightly). Returns the delta rows folded (the days rebuilt when full).
CREATE OR REPLACE FUNCTION refresh_call_rollups(p_full boolean DEFAULT false) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_rows bigint;
BEGIN
  IF p_full THEN
    DELETE FROM report_call_deltas;
    DELETE FROM rollup_call_matching;
    INSERT INTO rollup_call_matching
      SELECT (called_at AT TIME ZONE 'UTC')::date, count(*), count(*) FILTER (WHERE match_method = 'tracking_code'),
             count(*) FILTER (WHERE match_method = 'mortgage_id'), count(*) FILTER (WHERE match_method IS NULL)
      FROM call_responses GROUP BY 1;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
  END IF;
  WITH taken AS (DELETE FROM report_call_deltas RETURNING *)
  INSERT INTO rollup_call_matching AS r
    SELECT called_on, sum(calls), sum(by_tracking_code), sum(by_mortgage_id), sum(unmatched) FROM taken GROUP BY 1
  ON CONFLICT (called_on) DO UPDATE
    SET calls = r.calls + excluded.calls, by_tracking_code = r.by_tracking_code + excluded.by_tracking_code,
        by_mortgage_id = r.by_mortgage_id + excluded.by_mortgage_id, unmatched = r.unmatched + excluded.unmatched;
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  DELETE FROM rollup_call_matching WHERE calls = 0;
  RETURN v_rows;
END $$;

-- Recomputes the coverage rows (state, ZIP3) named as 'state|zip3' ('' for blank), or all when NULL,
-- from the per-ZIP rollup and the ZIP table (a few thousand rows: also run when the ZIP table changes).
CREATE OR REPLACE FUNCTION rebuild_mortgage_zip3(p_keys text[]) RETURNS void LANGUAGE sql AS $$
  DELETE FROM rollup_mortgage_zip3
   WHERE p_keys IS NULL OR coalesce(state, '') || '|' || coalesce(zip3, '') = ANY (p_keys);
  INSERT INTO rollup_mortgage_zip3
  SELECT r.state, left(r.zip5, 3), sum(r.mortgages), coalesce(sum(r.mortgages) FILTER (WHERE z.zip5 IS NOT NULL), 0)
  FROM rollup_mortgage_zips r LEFT JOIN zip_counties z ON z.zip5 = r.zip5
  WHERE p_keys IS NULL OR coalesce(r.state, '') || '|' || coalesce(left(r.zip5, 3), '') = ANY (p_keys)
  GROUP BY 1, 2;
$$;

-- Folds the mortgage deltas this transaction can see into their rollups; p_full rebuilds both
-- from the mortgages (nightly).
CREATE OR REPLACE FUNCTION refresh_mortgage_rollups(p_full boolean DEFAULT false) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_rows bigint;
BEGIN
  IF p_full THEN
    DELETE FROM report_mortgage_deltas;
    DELETE FROM rollup_mortgages_by_day;
    DELETE FROM rollup_mortgage_zips;
    INSERT INTO rollup_mortgages_by_day
      SELECT partner, closing_date, count(*), coalesce(sum(loan_amount), 0) FROM mortgages GROUP BY 1, 2;
    INSERT INTO rollup_mortgage_zips SELECT property_state, property_zip5, count(*) FROM mortgages GROUP BY 1, 2;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    PERFORM rebuild_mortgage_zip3(NULL);
    RETURN v_rows;
  END IF;
  DROP TABLE IF EXISTS pg_temp.report_mortgage_delta_batch;
  CREATE TEMP TABLE report_mortgage_delta_batch ON COMMIT DROP AS
    WITH taken AS (DELETE FROM report_mortgage_deltas RETURNING *) SELECT * FROM taken;
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  IF v_rows = 0 THEN RETURN 0; END IF;
  -- rows written before migration 200 ('day_and_zip') count at both grains
  INSERT INTO rollup_mortgages_by_day AS r
    SELECT partner, closing_date, sum(mortgages), sum(total_loan_amount) FROM report_mortgage_delta_batch
     WHERE grain <> 'zip' GROUP BY 1, 2
  ON CONFLICT (partner, closing_date) DO UPDATE
    SET mortgages = r.mortgages + excluded.mortgages, total_loan_amount = r.total_loan_amount + excluded.total_loan_amount;
  INSERT INTO rollup_mortgage_zips AS r
    SELECT state, zip5, sum(mortgages) FROM report_mortgage_delta_batch WHERE grain <> 'day' GROUP BY 1, 2
  ON CONFLICT (state, zip5) DO UPDATE SET mortgages = r.mortgages + excluded.mortgages;
  DELETE FROM rollup_mortgages_by_day WHERE mortgages = 0;
  DELETE FROM rollup_mortgage_zips WHERE mortgages = 0;
  PERFORM rebuild_mortgage_zip3(ARRAY(SELECT DISTINCT coalesce(state, '') || '|' || coalesce(left(zip5, 3), '')
                                       FROM report_mortgage_delta_batch WHERE grain <> 'day'));
  DROP TABLE pg_temp.report_mortgage_delta_batch;
  RETURN v_rows;
END $$;
