-- Promotion of the compliance and audience feeds, one staged chunk at a time, set-based.
-- Shared rule: the newest delivery wins (src_seq = the import's landing sequence, then the
-- source row), whatever order chunks or files run in; a row that changes nothing is
-- "unchanged". Each returns (inserted, updated); the caller derives unchanged.

-- Customer snapshots: one per customer and updated_at. Two rows for the same customer and
-- updated_at (equal timestamps) resolve to the later delivery: the later file, then the later row.
CREATE OR REPLACE FUNCTION promote_customers(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (inserted bigint, updated bigint)
LANGUAGE sql AS $$
  WITH src AS (
    SELECT DISTINCT ON (s.customer_id, s.updated_at) s.*
    FROM staging_customers s
    WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index
    ORDER BY s.customer_id, s.updated_at, s.src_seq DESC
  ),
  upserted AS (
    INSERT INTO customer_snapshots AS c
      (customer_id, updated_at, email, phone, home_state, loyalty_tier, is_active, import_id, source_row, src_seq)
    SELECT customer_id, updated_at, email, phone, home_state, loyalty_tier, is_active, import_id, source_row, src_seq
    FROM src ORDER BY customer_id, updated_at
    ON CONFLICT (customer_id, updated_at) DO UPDATE SET
      email = excluded.email, phone = excluded.phone, home_state = excluded.home_state,
      loyalty_tier = excluded.loyalty_tier, is_active = excluded.is_active,
      import_id = excluded.import_id, source_row = excluded.source_row, src_seq = excluded.src_seq
    WHERE excluded.src_seq > c.src_seq
      AND (c.email, c.phone, c.home_state, c.loyalty_tier, c.is_active)
          IS DISTINCT FROM (excluded.email, excluded.phone, excluded.home_state, excluded.loyalty_tier, excluded.is_active)
    RETURNING (xmax = 0) AS was_inserted
  )
  SELECT count(*) FILTER (WHERE was_inserted), count(*) FILTER (WHERE NOT was_inserted) FROM upserted;
$$;

-- Bookings: one row per booking id, the newest delivery wins.
CREATE OR REPLACE FUNCTION promote_bookings(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (inserted bigint, updated bigint)
LANGUAGE sql AS $$
  WITH src AS (
    SELECT DISTINCT ON (s.booking_id) s.*
    FROM staging_bookings s
    WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index
    ORDER BY s.booking_id, s.src_seq DESC
  ),
  upserted AS (
    INSERT INTO bookings AS b
      (booking_id, customer_id, booking_date, booking_amount, booking_status, product_name, source_system, import_id, source_row, src_seq)
    SELECT booking_id, customer_id, booking_date, booking_amount, booking_status, product_name, source_system, import_id, source_row, src_seq
    FROM src ORDER BY booking_id
    ON CONFLICT (booking_id) DO UPDATE SET
      customer_id = excluded.customer_id, booking_date = excluded.booking_date, booking_amount = excluded.booking_amount,
      booking_status = excluded.booking_status, product_name = excluded.product_name, source_system = excluded.source_system,
      import_id = excluded.import_id, source_row = excluded.source_row, src_seq = excluded.src_seq
    WHERE excluded.src_seq > b.src_seq
      AND (b.customer_id, b.booking_date, b.booking_amount, b.booking_status, b.product_name, b.source_system)
          IS DISTINCT FROM (excluded.customer_id, excluded.booking_date, excluded.booking_amount, excluded.booking_status,
                            excluded.product_name, excluded.source_system)
    RETURNING (xmax = 0) AS was_inserted
  )
  SELECT count(*) FILTER (WHERE was_inserted), count(*) FILTER (WHERE NOT was_inserted) FROM upserted;
$$;

-- Consent events are a log: an event is its customer, channel, time and status; the same event
-- delivered again is unchanged. Which event is in force is decided when reading (consent_in_force).
CREATE OR REPLACE FUNCTION promote_consent_events(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (inserted bigint, updated bigint)
LANGUAGE sql AS $$
  WITH ins AS (
    INSERT INTO consent_events (customer_id, channel, event_ts, consent_status, import_id, source_row, src_seq)
    SELECT DISTINCT ON (s.customer_id, s.channel, s.event_ts, s.consent_status)
           s.customer_id, s.channel, s.event_ts, s.consent_status, s.import_id, s.source_row, s.src_seq
    FROM staging_consent_events s
    WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index
    ORDER BY s.customer_id, s.channel, s.event_ts, s.consent_status, s.src_seq
    ON CONFLICT DO NOTHING
    RETURNING 1
  )
  SELECT count(*), 0::bigint FROM ins;
$$;

-- Suppressions: one per customer, reason and start; the newest delivery may change the expiry.
CREATE OR REPLACE FUNCTION promote_suppressions(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (inserted bigint, updated bigint)
LANGUAGE sql AS $$
  WITH src AS (
    SELECT DISTINCT ON (s.customer_id, s.reason, s.suppressed_at) s.*
    FROM staging_suppressions s
    WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index
    ORDER BY s.customer_id, s.reason, s.suppressed_at, s.src_seq DESC
  ),
  upserted AS (
    INSERT INTO suppressions AS x (customer_id, reason, suppressed_at, expires_at, import_id, source_row, src_seq)
    SELECT customer_id, reason, suppressed_at, expires_at, import_id, source_row, src_seq
    FROM src ORDER BY customer_id, reason, suppressed_at
    ON CONFLICT (customer_id, reason, suppressed_at) DO UPDATE SET
      expires_at = excluded.expires_at, import_id = excluded.import_id, source_row = excluded.source_row, src_seq = excluded.src_seq
    WHERE excluded.src_seq > x.src_seq AND x.expires_at IS DISTINCT FROM excluded.expires_at
    RETURNING (xmax = 0) AS was_inserted
  )
  SELECT count(*) FILTER (WHERE was_inserted), count(*) FILTER (WHERE NOT was_inserted) FROM upserted;
$$;

-- Staged rows whose suppression would end before it starts: refused by the rule, with a reason.
CREATE OR REPLACE FUNCTION suppression_conflicts(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (source_row bigint, expires_at timestamptz, suppressed_at timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT s.source_row, s.expires_at, s.suppressed_at
  FROM staging_suppressions s
  WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index AND s.expires_at <= s.suppressed_at;
$$;

-- Do-not-call registry: additions and full files list a number, removals delist it (the row stays
-- as a tombstone). The newest delivery decides each number, so files applied out of order end
-- the same; a number's src_seq moves forward even when its state does not change. "updated"
-- counts numbers whose listing changed.
CREATE OR REPLACE FUNCTION promote_dnc_numbers(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (inserted bigint, updated bigint)
LANGUAGE sql AS $$
  WITH src AS (
    SELECT DISTINCT ON (s.phone) s.phone, s.action <> 'remove' AS listed, s.import_id, s.source_row, s.src_seq
    FROM staging_dnc_numbers s
    WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index
      -- a listing older than its area code's latest full file: that file already decided the number
      AND NOT (s.action <> 'remove' AND EXISTS (
        SELECT 1 FROM dnc_full_files f WHERE f.area_code = s.phone / 10000000 AND f.base_seq > s.src_seq))
    ORDER BY s.phone, s.src_seq DESC
  ),
  before AS (
    SELECT d.phone, d.listed FROM dnc_numbers d JOIN src USING (phone)
  ),
  upserted AS (
    INSERT INTO dnc_numbers AS d (phone, listed, import_id, source_row, src_seq)
    SELECT phone, listed, import_id, source_row, src_seq FROM src ORDER BY phone
    ON CONFLICT (phone) DO UPDATE SET
      listed = excluded.listed, import_id = excluded.import_id, source_row = excluded.source_row, src_seq = excluded.src_seq
    WHERE excluded.src_seq > d.src_seq
    RETURNING d.phone, d.listed, (xmax = 0) AS was_inserted
  )
  SELECT count(*) FILTER (WHERE u.was_inserted),
         count(*) FILTER (WHERE NOT u.was_inserted AND b.listed IS DISTINCT FROM u.listed)
  FROM upserted u LEFT JOIN before b USING (phone);
$$;

-- A full registry file replaces the numbers of every area code it contains: after all its chunks
-- are promoted, numbers of those area codes that the file does not list and that no newer
-- delivery touched are delisted, and the file is recorded per area code (older listings that
-- arrive later are then ignored by promote_dnc_numbers). Idempotent (Finalize may retry).
-- Returns how many numbers were delisted. Callers serialize with the DNC advisory lock.
CREATE OR REPLACE FUNCTION complete_dnc_full_file(p_import_id uuid)
RETURNS bigint
LANGUAGE sql AS $$
  WITH file AS (
    SELECT (i.seq << 32) AS base_seq FROM imports i WHERE i.id = p_import_id
  ),
  area_codes AS (
    SELECT DISTINCT s.phone / 10000000 AS area_code FROM staging_dnc_numbers s
    WHERE s.import_id = p_import_id AND s.action = 'full'
  ),
  applied AS (
    INSERT INTO dnc_full_files (area_code, import_id, base_seq)
    SELECT a.area_code, p_import_id, file.base_seq FROM area_codes a, file
    ON CONFLICT DO NOTHING
  ),
  delisted AS (
    UPDATE dnc_numbers d
       SET listed = false, import_id = p_import_id, source_row = NULL, src_seq = file.base_seq
      FROM file
     WHERE d.listed
       AND d.phone / 10000000 IN (SELECT area_code FROM area_codes)
       AND d.src_seq < file.base_seq
       AND NOT EXISTS (SELECT 1 FROM staging_dnc_numbers s WHERE s.import_id = p_import_id AND s.phone = d.phone)
    RETURNING 1
  )
  SELECT count(*) FROM delisted;
$$;

-- An opt-out's value as every path stores it: a phone as E.164 (+1 and 10 digits), an e-mail
-- lower-cased. call and sms take a phone, email an e-mail, mail either. NULL: not a contact
-- point of the channel.
CREATE OR REPLACE FUNCTION opt_out_value(p_channel text, p_raw text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN p_channel IN ('email', 'mail') AND lower(btrim(p_raw)) ~ '^[^\s@]+@[^\s@]+\.[a-z]{2,}$' THEN lower(btrim(p_raw))
    WHEN p_channel IN ('call', 'sms', 'mail') AND digits ~ '^1?[2-9][0-9]{2}[2-9][0-9]{6}$' THEN '+1' || right(digits, 10)
  END
  FROM (SELECT regexp_replace(p_raw, '[\s().+-]', '', 'g') AS digits) d;
$$;

-- Staged opt-outs whose value is not a contact point of their channel: refused with a reason.
CREATE OR REPLACE FUNCTION opt_out_value_conflicts(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (source_row bigint, channel text, value text)
LANGUAGE sql STABLE AS $$
  SELECT s.source_row, s.channel, s.value
  FROM staging_opt_outs s
  WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index AND opt_out_value(s.channel, s.value) IS NULL;
$$;

-- The internal opt-out list lands in opt_outs with origin 'internal'; the same opt-out delivered
-- again is unchanged.
CREATE OR REPLACE FUNCTION promote_internal_opt_outs(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (inserted bigint, updated bigint)
LANGUAGE sql AS $$
  WITH ins AS (
    INSERT INTO opt_outs (channel, value, opted_out_at, reason, origin, import_id, source_row)
    SELECT DISTINCT ON (s.channel, opt_out_value(s.channel, s.value), s.opted_out_at)
           s.channel, opt_out_value(s.channel, s.value), s.opted_out_at, s.reason, 'internal', s.import_id, s.source_row
    FROM staging_opt_outs s
    WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index
    ORDER BY s.channel, opt_out_value(s.channel, s.value), s.opted_out_at, s.src_seq
    ON CONFLICT DO NOTHING
    RETURNING 1
  )
  SELECT count(*), 0::bigint FROM ins;
$$;
