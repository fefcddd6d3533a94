-- Barcodes and mail pieces: the rules both paths share (partner A's mortgage file with the IMb
-- embedded, and the barcode map of partners B, C, D), whichever file arrives first.

-- Assignment and linking for one partner run one transaction at a time (held to commit): a map
-- chunk and a mortgage chunk committing concurrently would otherwise each miss the other's rows.
CREATE OR REPLACE FUNCTION lock_mail_pieces(p_import_id uuid)
RETURNS void
LANGUAGE sql AS $$
  SELECT pg_advisory_xact_lock(hashtext('leadpipe.mail_pieces'), hashtext(coalesce(partner, '')))
  FROM imports WHERE id = p_import_id;
$$;

-- A barcode map's claim on a mortgage and that mortgage's arrival from another partner are decided
-- one transaction at a time: map chunks take this lock exclusively, mortgage chunks shared (they
-- go on in parallel with each other). Without it a map chunk and a mortgage chunk committing
-- together would each miss the other, and the claim would wait forever. Taken before
-- lock_mail_pieces, always.
CREATE OR REPLACE FUNCTION lock_barcode_claims(p_exclusive boolean)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF p_exclusive THEN
    PERFORM pg_advisory_xact_lock(hashtext('leadpipe.barcode_claims'));
  ELSE
    PERFORM pg_advisory_xact_lock_shared(hashtext('leadpipe.barcode_claims'));
  END IF;
END;
$$;

-- Why a map row claiming another partner's mortgage is rejected, whichever arrived first.
CREATE OR REPLACE FUNCTION foreign_claim_reason(p_mortgage_id text, p_owner text, p_claimant text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT format('mortgage %s belongs to partner %s; partner %s''s barcode map cannot assign it a barcode', p_mortgage_id, p_owner, p_claimant);
$$;

-- Staged barcode rows of this chunk that the rules refuse: a map row for a mortgage another
-- partner owns; a tracking code that is already another partner's piece or another mortgage's;
-- the same tracking code on an earlier row of the chunk for another mortgage. One reason a row.
CREATE OR REPLACE FUNCTION barcode_conflicts(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (source_row bigint, field text, value text, reason text)
LANGUAGE sql STABLE AS $$
  WITH s AS (
    SELECT * FROM staged_barcodes b WHERE b.import_id = p_import_id AND b.chunk_index = p_chunk_index
  )
  SELECT DISTINCT ON (c.source_row) c.source_row, c.field, c.value, c.reason
  FROM (
    SELECT s.source_row, 'mortgage_id' AS field, s.mortgage_id AS value, 1 AS rank,
           foreign_claim_reason(s.mortgage_id, m.partner, s.partner) AS reason
    FROM s JOIN mortgages m ON m.mortgage_id = s.mortgage_id
    WHERE s.kind = 'barcode-map' AND m.partner <> s.partner
    UNION ALL
    SELECT s.source_row, 'tracking_code', s.imb_raw, 2,
           format('tracking code %s belongs to partner %s''s mail piece', s.tracking_code, p.partner)
    FROM s JOIN mail_pieces p ON p.tracking_code = s.tracking_code
    WHERE p.partner <> s.partner
    UNION ALL
    SELECT s.source_row, 'tracking_code', s.imb_raw, 3,
           CASE WHEN a.partner <> s.partner
                THEN format('tracking code %s belongs to partner %s''s mail piece', s.tracking_code, a.partner)
                ELSE format('tracking code %s is already assigned to mortgage %s', s.tracking_code, a.mortgage_id) END
    FROM s JOIN barcode_assignments a ON a.tracking_code = s.tracking_code
    WHERE a.partner <> s.partner OR a.mortgage_id <> s.mortgage_id
    UNION ALL
    SELECT s.source_row, 'tracking_code', s.imb_raw, 4,
           format('tracking code %s is also on row %s, for mortgage %s', s.tracking_code, e.source_row, e.mortgage_id)
    FROM s JOIN s e ON e.tracking_code = s.tracking_code AND e.source_row < s.source_row AND e.mortgage_id <> s.mortgage_id
  ) c
  ORDER BY c.source_row, c.rank;
$$;

-- Links mail pieces to their mortgages for the barcodes and mortgages staged in this chunk: an
-- assignment becomes (or updates) its mail piece once the same partner's mortgage exists; until
-- then it waits in barcode_assignments (see the pending_barcodes view). Called by both paths, so
-- the order of arrival does not matter: either way the piece appears when its second half lands,
-- and a claim on another partner's mortgage never becomes a piece.
CREATE OR REPLACE FUNCTION link_mail_pieces(p_import_id uuid, p_chunk_index int)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  WITH touched AS (
    SELECT a.* FROM barcode_assignments a
    WHERE a.tracking_code IN (SELECT b.tracking_code FROM staged_barcodes b WHERE b.import_id = p_import_id AND b.chunk_index = p_chunk_index)
    UNION
    SELECT a.* FROM staging_mortgages s
    JOIN barcode_assignments a ON a.mortgage_id = s.mortgage_id AND a.partner = s.partner
    WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index
  ),
  upserted AS (
    INSERT INTO mail_pieces AS p (tracking_code, partner, mortgage_id, match_key, routing_code, imb_raw, import_id, source_row, src_seq)
    SELECT t.tracking_code, t.partner, m.mortgage_id, m.match_key, t.routing_code, t.imb_raw, t.import_id, t.source_row, t.src_seq
    FROM touched t JOIN mortgages m ON m.mortgage_id = t.mortgage_id AND m.partner = t.partner
    ORDER BY t.tracking_code
    ON CONFLICT (tracking_code) DO UPDATE SET
      mortgage_id = excluded.mortgage_id,
      match_key = excluded.match_key,
      routing_code = excluded.routing_code,
      imb_raw = excluded.imb_raw,
      import_id = excluded.import_id,
      source_row = excluded.source_row,
      src_seq = excluded.src_seq,
      updated_at = now()
    WHERE p.partner = excluded.partner
      AND (p.mortgage_id, p.routing_code, p.imb_raw, p.src_seq)
          IS DISTINCT FROM (excluded.mortgage_id, excluded.routing_code, excluded.imb_raw, excluded.src_seq)
    RETURNING 1
  )
  SELECT count(*) INTO n FROM upserted;
  RETURN n;
END;
$$;

-- Promotes the barcodes staged in this chunk (conflicting rows already removed): one assignment
-- per tracking code, the newest delivery (src_seq) winning a changed routing code or raw form;
-- then links mail pieces. Returns the assignments inserted and updated.
CREATE OR REPLACE FUNCTION promote_barcodes(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (inserted bigint, updated bigint)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY
  WITH src AS (
    SELECT DISTINCT ON (b.tracking_code) b.*
    FROM staged_barcodes b
    WHERE b.import_id = p_import_id AND b.chunk_index = p_chunk_index
    ORDER BY b.tracking_code, b.src_seq DESC
  ),
  upserted AS (
    INSERT INTO barcode_assignments AS a (tracking_code, partner, mortgage_id, routing_code, imb_raw, import_id, source_row, src_seq, first_import_id, first_source_row)
    SELECT src.tracking_code, src.partner, src.mortgage_id, src.routing_code, src.imb_raw, src.import_id, src.source_row, src.src_seq, src.import_id, src.source_row
    FROM src ORDER BY src.tracking_code
    ON CONFLICT (tracking_code) DO UPDATE SET
      routing_code = excluded.routing_code,
      imb_raw = excluded.imb_raw,
      import_id = excluded.import_id,
      source_row = excluded.source_row,
      src_seq = excluded.src_seq,
      updated_at = now()
    WHERE a.partner = excluded.partner AND a.mortgage_id = excluded.mortgage_id
      AND excluded.src_seq > a.src_seq
      AND (a.routing_code, a.imb_raw) IS DISTINCT FROM (excluded.routing_code, excluded.imb_raw)
    RETURNING (xmax = 0) AS was_inserted
  )
  SELECT count(*) FILTER (WHERE was_inserted), count(*) FILTER (WHERE NOT was_inserted) FROM upserted;
  PERFORM link_mail_pieces(p_import_id, p_chunk_index);
END;
$$;

-- The mortgages this chunk promoted may have been claimed earlier by another partner's barcode
-- map (the map arrived first). Each such claim is decided now as it would have been had the
-- mortgage come first: the assignment goes, and every staged map row that made it becomes a
-- rejected row of its own import (same reason, rejected_later_by = this import), taken off the
-- count it was added to. The map import's reconciliation still adds up (read = accepted +
-- rejected, accepted = inserted + updated + unchanged), and its counts no longer depend on the
-- order of arrival; Finalize of this import rewrites its reports. Returns the rows rejected.
CREATE OR REPLACE FUNCTION reject_foreign_claims(p_import_id uuid, p_chunk_index int)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  WITH claims AS (
    DELETE FROM barcode_assignments a
    USING staging_mortgages s
    WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index
      AND a.mortgage_id = s.mortgage_id AND a.partner <> s.partner
    RETURNING a.*, s.partner AS owner
  ),
  claim_rows AS (
    SELECT DISTINCT ON (b.import_id, b.source_row) b.import_id, b.chunk_index, b.source_row, b.mortgage_id, b.partner, c.owner,
           CASE WHEN (b.import_id, b.source_row) = (c.first_import_id, c.first_source_row) THEN 'inserted'
                WHEN (b.import_id, b.source_row) = (c.import_id, c.source_row) THEN 'updated'
                ELSE 'unchanged' END AS counted_as
    FROM claims c
    JOIN staging_barcode_map b ON b.mortgage_id = c.mortgage_id AND b.partner = c.partner AND b.tracking_code = c.tracking_code
    ORDER BY b.import_id, b.source_row
  ),
  rejected AS (
    INSERT INTO import_rejects (import_id, chunk_index, row_number, error_type, field_name, field_value, error_message, rejected_later_by)
    SELECT r.import_id, r.chunk_index, r.source_row, 'rule', 'mortgage_id', r.mortgage_id, foreign_claim_reason(r.mortgage_id, r.owner, r.partner), p_import_id
    FROM claim_rows r
    RETURNING 1
  ),
  unstaged AS (
    DELETE FROM staging_barcode_map b USING claim_rows r
    WHERE b.import_id = r.import_id AND b.chunk_index = r.chunk_index AND b.source_row = r.source_row
  ),
  per_chunk AS (
    SELECT import_id, chunk_index, count(*) AS n,
           count(*) FILTER (WHERE counted_as = 'inserted') AS ins,
           count(*) FILTER (WHERE counted_as = 'updated') AS upd,
           count(*) FILTER (WHERE counted_as = 'unchanged') AS unch
    FROM claim_rows GROUP BY import_id, chunk_index
  ),
  recounted AS (
    -- A row that changed the assignment before a later row changed it again was counted as
    -- updated, not unchanged: what unchanged cannot give back comes off updated.
    UPDATE import_chunks k SET
      accepted = k.accepted - x.n,
      rejected = k.rejected + x.n,
      inserted = k.inserted - x.ins,
      unchanged = k.unchanged - least(k.unchanged, x.unch),
      updated = k.updated - x.upd - (x.unch - least(k.unchanged, x.unch))
    FROM per_chunk x
    WHERE k.import_id = x.import_id AND k.chunk_index = x.chunk_index
  )
  -- (Every data-modifying part of the WITH runs once, read or not.)
  SELECT count(*) INTO n FROM rejected;
  RETURN n;
END;
$$;
