-- Delivery confirmations. The rules every path shares, once:
--   * a partner's feed confirms only its own mail pieces: an event for another partner's piece is
--     'rejected' with a reason and changes nothing;
--   * the first delivery wins: a piece's delivery is its earliest applied event, ties broken by the
--     lowest event code (content, never arrival order, so every order of files gives the same result);
--   * an event for a piece not known yet is kept 'pending' and resolved when the piece arrives
--     (the mail_pieces triggers below call resolve_deliveries as well).
-- Delivery chunks take the lock below shared, the mail-piece path exclusive: a piece and its
-- pending events committed concurrently can never miss each other.

CREATE OR REPLACE FUNCTION delivery_lock_key() RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT 7241865325823001::bigint $$;

CREATE OR REPLACE FUNCTION delivery_partner_conflict(p_tracking_code text, p_owner text, p_feed_partner text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT format('mail piece %s belongs to partner %s: partner %s''s delivery feed can confirm only its own pieces',
                p_tracking_code, p_owner, p_feed_partner);
$$;

-- Resolves the pending events of these tracking codes against mail_pieces, then sets each piece's
-- first delivery from its applied events.
CREATE OR REPLACE FUNCTION resolve_deliveries(p_codes text[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE delivery_events e
     SET status = CASE WHEN p.partner = e.partner THEN 'applied' ELSE 'rejected' END,
         reason = CASE WHEN p.partner = e.partner THEN NULL ELSE delivery_partner_conflict(e.tracking_code, p.partner, e.partner) END,
         resolved_at = now()
    FROM (SELECT DISTINCT code FROM unnest(p_codes) AS u(code)) c
    JOIN mail_pieces p ON p.tracking_code = c.code
   WHERE e.status = 'pending' AND e.tracking_code = c.code;

  INSERT INTO mail_piece_deliveries AS d (tracking_code, partner, delivered_at, event_code, event_id, import_id, source_row)
  SELECT DISTINCT ON (e.tracking_code) e.tracking_code, e.partner, e.event_at, e.event_code, e.id, e.import_id, e.source_row
    FROM (SELECT DISTINCT code FROM unnest(p_codes) AS u(code)) c
    JOIN delivery_events e ON e.tracking_code = c.code AND e.status = 'applied'
   ORDER BY e.tracking_code, e.event_at, e.event_code
  ON CONFLICT (tracking_code) DO UPDATE SET
     partner = excluded.partner, delivered_at = excluded.delivered_at, event_code = excluded.event_code,
     event_id = excluded.event_id, import_id = excluded.import_id, source_row = excluded.source_row, updated_at = now()
   WHERE (excluded.delivered_at, excluded.event_code) < (d.delivered_at, d.event_code);
END;
$$;

-- One staged chunk of delivery rows: recorded in the ledger (once), resolved. Returns how many of
-- the chunk's accepted rows added a new event (the rest repeat a known one).
CREATE OR REPLACE FUNCTION promote_deliveries(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (inserted bigint, updated bigint)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(delivery_lock_key());
  INSERT INTO delivery_events (tracking_code, partner, event_at, event_code, routing_code, imb_raw, import_id, source_row, src_seq)
  SELECT DISTINCT ON (s.tracking_code, s.partner, s.event_at, s.event_code)
         s.tracking_code, s.partner, s.event_at, s.event_code, s.routing_code, s.imb_raw, s.import_id, s.source_row, s.src_seq
    FROM staging_deliveries s
   WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index
   ORDER BY s.tracking_code, s.partner, s.event_at, s.event_code, s.source_row
  ON CONFLICT (tracking_code, partner, event_at, event_code) DO NOTHING;

  PERFORM resolve_deliveries(ARRAY(
    SELECT DISTINCT s.tracking_code FROM staging_deliveries s WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index));

  RETURN QUERY
  SELECT count(*) FILTER (WHERE e.import_id = s.import_id AND e.source_row = s.source_row), 0::bigint
    FROM staging_deliveries s
    JOIN delivery_events e USING (tracking_code, partner, event_at, event_code)
   WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index AND e.status <> 'rejected';
END;
$$;

-- The chunk's rows refused by the partner rule (after promote_deliveries).
CREATE OR REPLACE FUNCTION delivery_rejects(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (source_row bigint, field text, value text, reason text)
LANGUAGE sql STABLE AS $$
  SELECT s.source_row, 'tracking_code', s.tracking_code, e.reason
    FROM staging_deliveries s
    JOIN delivery_events e USING (tracking_code, partner, event_at, event_code)
   WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index AND e.status = 'rejected'
   ORDER BY s.source_row;
$$;
