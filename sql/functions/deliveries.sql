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

-- The partner rule, for one event: its status once its piece's owner is known (NULL: not yet),
-- and the reason when it is refused.
CREATE OR REPLACE FUNCTION delivery_status(p_owner text, p_feed_partner text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_owner IS NULL THEN 'pending' WHEN p_owner = p_feed_partner THEN 'applied' ELSE 'rejected' END;
$$;

CREATE OR REPLACE FUNCTION delivery_partner_conflict(p_tracking_code text, p_owner text, p_feed_partner text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_owner <> p_feed_partner THEN
    format('mail piece %s belongs to partner %s: partner %s''s delivery feed can confirm only its own pieces',
           p_tracking_code, p_owner, p_feed_partner) END;
$$;

-- First delivery wins: each of these pieces' delivery is its earliest applied event (ties: the
-- lowest event code); only ever moves earlier.
CREATE OR REPLACE FUNCTION apply_first_deliveries(p_codes text[])
RETURNS void LANGUAGE sql AS $$
  INSERT INTO mail_piece_deliveries AS d (tracking_code, partner, delivered_at, event_code, event_id, import_id, source_row)
  SELECT DISTINCT ON (e.tracking_code) e.tracking_code, e.partner, e.event_at, e.event_code, e.id, e.import_id, e.source_row
    FROM (SELECT DISTINCT code FROM unnest(p_codes) AS u(code)) c
    JOIN delivery_events e ON e.tracking_code = c.code AND e.status = 'applied'
   ORDER BY e.tracking_code, e.event_at, e.event_code
  ON CONFLICT (tracking_code) DO UPDATE SET
     partner = excluded.partner, delivered_at = excluded.delivered_at, event_code = excluded.event_code,
     event_id = excluded.event_id, import_id = excluded.import_id, source_row = excluded.source_row, updated_at = now()
   WHERE (excluded.delivered_at, excluded.event_code) < (d.delivered_at, d.event_code);
$$;

-- Pieces arrived: their pending events are resolved by the partner rule, then their first deliveries set.
CREATE OR REPLACE FUNCTION resolve_deliveries(p_codes text[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE delivery_events e
     SET status = delivery_status(p.partner, e.partner),
         reason = delivery_partner_conflict(e.tracking_code, p.partner, e.partner),
         resolved_at = now()
    FROM (SELECT DISTINCT code FROM unnest(p_codes) AS u(code)) c
    JOIN mail_pieces p ON p.tracking_code = c.code
   WHERE e.status = 'pending' AND e.tracking_code = c.code;
  PERFORM apply_first_deliveries(p_codes);
END;
$$;

-- One staged chunk of delivery rows: recorded in the ledger (once) already resolved against the
-- pieces known now (one write per event), then each piece's first delivery updated. Returns how
-- many of the chunk's accepted rows added a new event (the rest repeat a known one). Returns how many of
CREATE OR REPLACE FUNCTION promote_deliveries(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (inserted bigint, updated bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_inserted bigint;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(delivery_lock_key());
  -- Resolved as written (the pieces known now; a piece committed later resolves its pending events itself).
  WITH recorded AS (
    INSERT INTO delivery_events (tracking_code, partner, event_at, event_code, routing_code, imb_raw, import_id, source_row, src_seq,
                                 status, reason, resolved_at)
    SELECT DISTINCT ON (s.tracking_code, s.partner, s.event_at, s.event_code)
           s.tracking_code, s.partner, s.event_at, s.event_code, s.routing_code, s.imb_raw, s.import_id, s.source_row, s.src_seq,
           delivery_status(p.partner, s.partner), delivery_partner_conflict(s.tracking_code, p.partner, s.partner),
           CASE WHEN p.partner IS NOT NULL THEN now() END
      FROM staging_deliveries s
      LEFT JOIN mail_pieces p ON p.tracking_code = s.tracking_code
     WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index
     ORDER BY s.tracking_code, s.partner, s.event_at, s.event_code, s.source_row
    ON CONFLICT (tracking_code, partner, event_at, event_code) DO NOTHING
    RETURNING status)
  SELECT count(*) FILTER (WHERE status <> 'rejected') INTO v_inserted FROM recorded;

  PERFORM apply_first_deliveries(ARRAY(
    SELECT DISTINCT s.tracking_code FROM staging_deliveries s WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index));

  RETURN QUERY SELECT v_inserted, 0::bigint;
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
