-- RingCentral call-log records (source ringcentral-calls, landed by `leadpipe sync ringcentral`).
-- Rules:
--   1. One record per RingCentral id: the version with the latest lastModifiedTime wins; of two
--      versions modified at the same instant, the one landed later wins (src_seq). A record read
--      again unchanged changes nothing (an overlapping window, a fallback full sync, a re-run).
--   2. An inbound call is a call-center response (disposition 'logged': the phone system records
--      no IVR disposition) keyed by its RingCentral id, so an update changes that response and
--      never adds one. It is matched as the IVR's responses are (call_response_match), through the
--      mortgage closed with the caller's phone (its ten national digits): that mortgage, its
--      partner and its mail piece. The caller's golden record is the person with that phone.
--   3. An outbound call is a 'call' touchpoint of campaign 'ringcentral' for the number called on
--      the call's day (UTC), with its person: frequency caps count it.
--   4. A deleted record (or one that is no longer inbound/outbound) takes back its response, and
--      its touchpoint when no other live outbound call reached that number that day.

CREATE OR REPLACE FUNCTION promote_ringcentral_calls(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (inserted bigint, updated bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_ids text[];
  v_inserted bigint;
  v_updated bigint;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(call_response_lock_key());
  -- rule 1
  WITH latest AS (
    SELECT DISTINCT ON (s.record_id) s.*
      FROM staging_ringcentral_calls s
     WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index
     ORDER BY s.record_id, s.last_modified DESC, s.src_seq DESC
  ), up AS (
    INSERT INTO ringcentral_calls AS rc (record_id, session_id, start_time, last_modified, direction, from_phone,
                                         to_phone, result, duration_s, deleted, person_id, import_id, source_row, src_seq)
    SELECT l.record_id, l.session_id, l.start_time, l.last_modified, l.direction, l.from_phone, l.to_phone, l.result,
           l.duration_s, l.deleted,
           (SELECT min(pp.person_id) FROM person_phones pp
             WHERE pp.phone = CASE WHEN l.direction = 'Inbound' THEN l.from_phone ELSE l.to_phone END),
           l.import_id, l.source_row, l.src_seq
      FROM latest l
    ON CONFLICT (record_id) DO UPDATE SET
       session_id = excluded.session_id, start_time = excluded.start_time, last_modified = excluded.last_modified,
       direction = excluded.direction, from_phone = excluded.from_phone, to_phone = excluded.to_phone,
       result = excluded.result, duration_s = excluded.duration_s, deleted = excluded.deleted,
       person_id = excluded.person_id, import_id = excluded.import_id, source_row = excluded.source_row,
       src_seq = excluded.src_seq, updated_at = now()
     WHERE (excluded.last_modified, excluded.src_seq) > (rc.last_modified, rc.src_seq)
       AND (rc.session_id, rc.start_time, rc.last_modified, rc.direction, rc.from_phone, rc.to_phone, rc.result,
            rc.duration_s, rc.deleted)
           IS DISTINCT FROM (excluded.session_id, excluded.start_time, excluded.last_modified, excluded.direction,
                             excluded.from_phone, excluded.to_phone, excluded.result, excluded.duration_s, excluded.deleted)
    RETURNING rc.record_id, (rc.xmax = 0) AS created
  )
  SELECT coalesce(array_agg(record_id), '{}'), count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created)
    INTO v_ids, v_inserted, v_updated
    FROM up;
  IF cardinality(v_ids) = 0 THEN
    RETURN QUERY SELECT 0::bigint, 0::bigint;
    RETURN;
  END IF;

  -- rule 4 (before rule 2: a record that stopped being an inbound call gives its response back)
  DELETE FROM call_responses r
   USING unnest(v_ids) AS u(id) JOIN ringcentral_calls c ON c.record_id = u.id
   WHERE r.ringcentral_id = c.record_id
     AND (c.deleted OR c.direction <> 'Inbound' OR c.from_phone !~ '^\+1[2-9][0-9]{2}[2-9][0-9]{6}$'
          OR c.from_phone IS NULL);
  DELETE FROM touchpoints t
   USING unnest(v_ids) AS u(id) JOIN ringcentral_calls c ON c.record_id = u.id
   WHERE (c.deleted OR c.direction <> 'Outbound')
     AND t.campaign = 'ringcentral' AND t.channel = 'call' AND t.customer_id = c.to_phone
     AND NOT EXISTS (SELECT 1 FROM ringcentral_calls o
                      WHERE o.to_phone = t.customer_id AND o.direction = 'Outbound' AND NOT o.deleted
                        AND (o.start_time AT TIME ZONE 'UTC')::date = t.touched_on);

  -- rule 2
  WITH c AS (
    SELECT c.*,
           (SELECT m.match_key FROM mortgages m
             WHERE m.phone IS NOT NULL
               AND right(regexp_replace(m.phone, '\D', '', 'g'), 10) = right(c.from_phone, 10)
             ORDER BY m.mortgage_id LIMIT 1) AS mortgage_key
      FROM unnest(v_ids) AS u(id) JOIN ringcentral_calls c ON c.record_id = u.id
     WHERE NOT c.deleted AND c.direction = 'Inbound' AND c.from_phone ~ '^\+1[2-9][0-9]{2}[2-9][0-9]{6}$'
  ), resp AS (
    INSERT INTO call_responses AS r (caller_phone, called_at, disposition, lookup_mortgage_id, ringcentral_id,
                                     import_id, source_row, src_seq, tracking_code, mortgage_id, partner,
                                     match_method, matched_at)
    SELECT c.from_phone, c.start_time, 'logged', c.mortgage_key, c.record_id, c.import_id, c.source_row, c.src_seq,
           x.tracking_code, x.mortgage_id, x.partner, x.method, CASE WHEN x.method IS NOT NULL THEN now() END
      FROM c CROSS JOIN LATERAL call_response_match(NULL, c.mortgage_key) x
    ON CONFLICT (ringcentral_id) WHERE ringcentral_id IS NOT NULL DO UPDATE SET
       caller_phone = excluded.caller_phone, called_at = excluded.called_at,
       lookup_mortgage_id = excluded.lookup_mortgage_id, tracking_code = excluded.tracking_code,
       mortgage_id = excluded.mortgage_id, partner = excluded.partner, match_method = excluded.match_method,
       matched_at = excluded.matched_at, import_id = excluded.import_id, source_row = excluded.source_row,
       src_seq = excluded.src_seq
    RETURNING r.id, r.ringcentral_id
  )
  UPDATE ringcentral_calls c SET call_response_id = resp.id FROM resp WHERE c.record_id = resp.ringcentral_id;

  -- rule 3
  INSERT INTO touchpoints (campaign, channel, customer_id, touched_on, person_id)
  SELECT DISTINCT ON (c.to_phone, (c.start_time AT TIME ZONE 'UTC')::date)
         'ringcentral', 'call', c.to_phone, (c.start_time AT TIME ZONE 'UTC')::date, c.person_id
    FROM unnest(v_ids) AS u(id) JOIN ringcentral_calls c ON c.record_id = u.id
   WHERE NOT c.deleted AND c.direction = 'Outbound' AND c.to_phone IS NOT NULL
   ORDER BY c.to_phone, (c.start_time AT TIME ZONE 'UTC')::date, c.person_id NULLS LAST
  ON CONFLICT (campaign, channel, customer_id, touched_on) DO NOTHING;

  RETURN QUERY SELECT v_inserted, v_updated;
END;
$$;
