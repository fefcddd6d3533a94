-- Call-center responses: matching, do-not-call opt-outs, leads. The match of a response is a
-- function of the response and the final mail_pieces/mortgages only (never of arrival order):
--   1. the keyed tracking code names a mail piece → that piece, its mortgage and partner;
--   2. else the keyed mortgage id names a mortgage (or a piece's mortgage) → that mortgage, its
--      partner, and its mail piece (the lowest tracking code when there are several); ids are
--      compared by their letters and digits (the stored match_key, see mortgage_match_key: "b 100004" is B-100004);
--   3. else unmatched: kept, reported (call_responses_unmatched), matched when the piece or
--      mortgage arrives (the mail_pieces and mortgages triggers call resolve_call_responses).
-- An interested response matched to a piece is a lead, one per caller phone and piece.

CREATE OR REPLACE FUNCTION call_response_lock_key() RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT 7241865325823002::bigint $$;

-- The match of one response (rules 1-3 above). Inlined by the planner where it is used.
-- p_mortgage_id: the keyed id's match key (mortgage_match_key).
CREATE OR REPLACE FUNCTION call_response_match(p_tracking_code text, p_mortgage_id text)
RETURNS TABLE (tracking_code text, mortgage_id text, partner text, method text)
LANGUAGE sql STABLE AS $$
  SELECT coalesce(p.tracking_code, bym.tracking_code),
         coalesce(p.mortgage_id, mo.mortgage_id, bym.mortgage_id),
         coalesce(p.partner, mo.partner, bym.partner),
         CASE WHEN p.tracking_code IS NOT NULL THEN 'tracking_code'
              WHEN mo.mortgage_id IS NOT NULL OR bym.mortgage_id IS NOT NULL THEN 'mortgage_id' END
    FROM (SELECT 1) AS one
    LEFT JOIN mail_pieces p ON p.tracking_code = p_tracking_code
    LEFT JOIN LATERAL (
      SELECT m.mortgage_id, m.partner FROM mortgages m
       WHERE p.tracking_code IS NULL AND m.match_key = p_mortgage_id
       ORDER BY m.mortgage_id LIMIT 1) mo ON true
    LEFT JOIN LATERAL (
      SELECT mp.tracking_code, mp.mortgage_id, mp.partner FROM mail_pieces mp
       WHERE p.tracking_code IS NULL AND mp.match_key = p_mortgage_id
         AND (mo.mortgage_id IS NULL OR mp.mortgage_id = mo.mortgage_id)
       ORDER BY mp.tracking_code LIMIT 1) bym ON true;
$$;

-- Re-matches the responses that keyed one of these tracking codes or mortgage match keys, and keeps
-- their leads in step.
CREATE OR REPLACE FUNCTION resolve_call_responses(p_codes text[], p_mortgage_ids text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[];
  v_phones text[];
BEGIN
  v_ids := ARRAY(
    SELECT r.id FROM call_responses r JOIN (SELECT DISTINCT code FROM unnest(p_codes) AS u(code)) c ON r.lookup_tracking_code = c.code
    UNION
    SELECT r.id FROM call_responses r JOIN (SELECT DISTINCT k FROM unnest(p_mortgage_ids) AS u(k)) m ON r.lookup_mortgage_id = m.k);
  IF cardinality(v_ids) = 0 THEN
    RETURN;
  END IF;
  -- Joins with unnest() rather than "= ANY (array)": a parameter array is searched linearly per row.
  v_phones := ARRAY(SELECT DISTINCT r.caller_phone FROM unnest(v_ids) AS u(id) JOIN call_responses r ON r.id = u.id);

  WITH m AS (
    SELECT r.id, x.tracking_code, x.mortgage_id, x.partner, x.method
      FROM unnest(v_ids) AS u(id)
      JOIN call_responses r ON r.id = u.id
      CROSS JOIN LATERAL call_response_match(r.lookup_tracking_code, r.lookup_mortgage_id) x
  )
  UPDATE call_responses r
     SET tracking_code = m.tracking_code, mortgage_id = m.mortgage_id, partner = m.partner, match_method = m.method,
         matched_at = CASE WHEN m.method IS NULL THEN NULL ELSE now() END
    FROM m
   WHERE r.id = m.id
     AND (r.tracking_code, r.mortgage_id, r.partner, r.match_method) IS DISTINCT FROM (m.tracking_code, m.mortgage_id, m.partner, m.method);

  -- Leads of these callers: one per phone and piece, from the earliest interested call.
  INSERT INTO leads AS l (caller_phone, tracking_code, mortgage_id, partner, interested_at, first_response_id)
  SELECT DISTINCT ON (r.caller_phone, r.tracking_code) r.caller_phone, r.tracking_code, r.mortgage_id, r.partner, r.called_at, r.id
    FROM unnest(v_phones) AS ph(phone)
    JOIN call_responses r ON r.caller_phone = ph.phone
   WHERE r.disposition = 'interested' AND r.tracking_code IS NOT NULL
   ORDER BY r.caller_phone, r.tracking_code, r.called_at, r.keyed_mortgage_id NULLS FIRST, r.keyed_tracking NULLS FIRST
  ON CONFLICT (caller_phone, tracking_code) DO UPDATE SET
     mortgage_id = excluded.mortgage_id, partner = excluded.partner,
     interested_at = excluded.interested_at, first_response_id = excluded.first_response_id
   WHERE (l.mortgage_id, l.partner, l.interested_at, l.first_response_id)
         IS DISTINCT FROM (excluded.mortgage_id, excluded.partner, excluded.interested_at, excluded.first_response_id);

  -- A lead whose responses now match another piece goes, unless it was already handed off.
  DELETE FROM leads l
   USING unnest(v_phones) AS ph(phone)
   WHERE l.caller_phone = ph.phone
     AND NOT EXISTS (SELECT 1 FROM call_responses r
                      WHERE r.caller_phone = l.caller_phone AND r.tracking_code = l.tracking_code AND r.disposition = 'interested')
     AND NOT EXISTS (SELECT 1 FROM lead_handoff_items h WHERE h.lead_id = l.id);
END;
$$;

-- One staged chunk of responses: recorded once and matched as they are written, do-not-call
-- requests become opt-outs for calls and texts, then earlier responses keyed the same way are
-- re-matched and the callers' leads kept in step. Returns how many of the chunk's rows added a new response.
CREATE OR REPLACE FUNCTION promote_call_responses(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (inserted bigint, updated bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_inserted bigint;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(call_response_lock_key());
  INSERT INTO call_responses (caller_phone, called_at, disposition, keyed_mortgage_id, keyed_tracking,
                              lookup_mortgage_id, lookup_tracking_code, import_id, source_row, src_seq,
                              tracking_code, mortgage_id, partner, match_method, matched_at)
  SELECT DISTINCT ON (s.caller_phone, s.called_at, s.disposition, s.keyed_mortgage_id, s.keyed_tracking)
         s.caller_phone, s.called_at, s.disposition, s.keyed_mortgage_id, s.keyed_tracking,
         s.lookup_mortgage_id, s.lookup_tracking_code, s.import_id, s.source_row, s.src_seq,
         x.tracking_code, x.mortgage_id, x.partner, x.method, CASE WHEN x.method IS NOT NULL THEN now() END
    FROM staging_call_responses s
   CROSS JOIN LATERAL call_response_match(s.lookup_tracking_code, s.lookup_mortgage_id) x
   WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index
   ORDER BY s.caller_phone, s.called_at, s.disposition, s.keyed_mortgage_id, s.keyed_tracking, s.source_row
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS v_inserted = ROW_COUNT;

  INSERT INTO opt_outs (channel, value, opted_out_at, reason, origin, import_id, source_row)
  SELECT DISTINCT ON (ch.channel, s.caller_phone, s.called_at) ch.channel, s.caller_phone, s.called_at,
         'do-not-call request to the call center', 'ivr', s.import_id, s.source_row
    FROM staging_call_responses s
   CROSS JOIN (VALUES ('call'), ('sms')) AS ch(channel)
   WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index AND s.disposition = 'do_not_call'
   ORDER BY ch.channel, s.caller_phone, s.called_at, s.source_row
  ON CONFLICT (channel, value, opted_out_at, origin) DO NOTHING;

  PERFORM resolve_call_responses(
    ARRAY(SELECT DISTINCT s.lookup_tracking_code FROM staging_call_responses s
           WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index AND s.lookup_tracking_code IS NOT NULL),
    ARRAY(SELECT DISTINCT s.lookup_mortgage_id FROM staging_call_responses s
           WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index AND s.lookup_mortgage_id IS NOT NULL));

  RETURN QUERY SELECT v_inserted, 0::bigint;
END;
$$;
