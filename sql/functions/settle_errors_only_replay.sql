-- Settles an errors-only replay once it has promoted its rows: every rejected row of the original
-- that the replay accepted (it is in the replay's staged rows) is marked resolved by the replay,
-- and the original's status follows what is still outstanding: COMPLETE once no rejected row is
-- left, else COMPLETE_WITH_ERRORS. Re-running it changes nothing (a resolved row stays resolved
-- by the replay that first accepted it).
CREATE OR REPLACE FUNCTION settle_errors_only_replay(p_replay uuid, p_staging_table text)
RETURNS TABLE (original uuid, resolved bigint, outstanding bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_original uuid;
  v_rows_read bigint;
  v_resolved bigint;
  v_outstanding bigint;
BEGIN
  SELECT replay_of INTO v_original FROM imports WHERE id = p_replay AND replay_mode = 'errors-only';
  IF v_original IS NULL THEN
    RAISE EXCEPTION 'import % is not an errors-only replay', p_replay;
  END IF;
  EXECUTE format(
    'UPDATE import_rejects r SET resolved_by = $1
      WHERE r.import_id = $2 AND r.resolved_by IS NULL
        AND r.row_number IN (SELECT s.source_row FROM %I s WHERE s.import_id = $1)', p_staging_table)
    USING p_replay, v_original;
  SELECT count(DISTINCT row_number) FILTER (WHERE resolved_by IS NOT NULL),
         count(DISTINCT row_number) FILTER (WHERE resolved_by IS NULL)
    INTO v_resolved, v_outstanding
    FROM import_rejects WHERE import_id = v_original;
  SELECT rows_read INTO v_rows_read FROM imports WHERE id = v_original;
  UPDATE imports SET
      status = CASE WHEN v_outstanding = 0 THEN 'COMPLETE' ELSE 'COMPLETE_WITH_ERRORS' END,
      status_reason = CASE WHEN v_outstanding = 0
        THEN format('all %s rejected rows re-ingested by errors-only replay (latest %s)', v_resolved, p_replay)
        ELSE format('%s of %s rows rejected (%s re-ingested by errors-only replay, latest %s)', v_outstanding, v_rows_read, v_resolved, p_replay)
      END
    WHERE id = v_original AND status IN ('COMPLETE', 'COMPLETE_WITH_ERRORS');
  RETURN QUERY SELECT v_original, v_resolved, v_outstanding;
END
$$;
