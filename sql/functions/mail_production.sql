-- Rule: a mail piece's production belongs to the partner that produced it.
--   A production row naming a tracking code that another partner owns (its mail piece, its
--   barcode assignment or its production row) is refused with the owner named; the other
--   partner's rows are never touched.
-- Rule: the newest production row wins.
--   Among rows for one tracking code, the highest src_seq (landing order, then source row)
--   decides, whatever order files or chunks are processed in; a re-sent row changes nothing.

CREATE OR REPLACE FUNCTION mail_production_conflicts(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (source_row bigint, tracking_code text, owner text)
LANGUAGE sql STABLE AS $$
  SELECT s.source_row, s.tracking_code, o.partner
  FROM staging_mail_production s
  CROSS JOIN LATERAL (
    SELECT partner FROM mail_pieces p WHERE p.tracking_code = s.tracking_code AND p.partner <> s.partner
    UNION ALL
    SELECT partner FROM barcode_assignments a WHERE a.tracking_code = s.tracking_code AND a.partner <> s.partner
    UNION ALL
    SELECT partner FROM mail_piece_production x WHERE x.tracking_code = s.tracking_code AND x.partner <> s.partner
    LIMIT 1
  ) o
  WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index;
$$;

CREATE OR REPLACE FUNCTION promote_mail_production(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (inserted bigint, updated bigint)
LANGUAGE sql AS $$
  WITH src AS (
    SELECT DISTINCT ON (s.tracking_code) s.*
    FROM staging_mail_production s
    WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index
    ORDER BY s.tracking_code, s.src_seq DESC
  ),
  upserted AS (
    INSERT INTO mail_piece_production AS x
      (tracking_code, partner, mail_date, mailer_version, piece_type, campaign, import_id, source_row, src_seq)
    SELECT tracking_code, partner, mail_date, mailer_version, piece_type, campaign, import_id, source_row, src_seq
    FROM src ORDER BY tracking_code
    ON CONFLICT (tracking_code) DO UPDATE SET
      mail_date = excluded.mail_date, mailer_version = excluded.mailer_version, piece_type = excluded.piece_type,
      campaign = excluded.campaign, import_id = excluded.import_id, source_row = excluded.source_row,
      src_seq = excluded.src_seq, updated_at = now()
    WHERE x.partner = excluded.partner AND excluded.src_seq > x.src_seq
      AND (x.mail_date, x.mailer_version, x.piece_type, x.campaign)
          IS DISTINCT FROM (excluded.mail_date, excluded.mailer_version, excluded.piece_type, excluded.campaign)
    RETURNING (xmax = 0) AS was_inserted
  )
  SELECT count(*) FILTER (WHERE was_inserted), count(*) FILTER (WHERE NOT was_inserted) FROM upserted;
$$;
