-- dnc_bitmap (migration 043) follows dnc_numbers: every statement that inserts, updates or deletes
-- registry rows sets or clears the bits of the numbers whose listing it changed, whatever path
-- wrote them (chunk promotion, a full file's completion, a replay, an operator's SQL). The bits
-- are set with UPDATE ... SET bits = (bits & ~clear) | set, which PostgreSQL re-applies to the
-- newest row version when two writers meet, so concurrent changes to one block compose.
-- Blocks left without a listed number are deleted: equal dnc_numbers, equal dnc_bitmap.

-- A number's block, and its bit set alone in a block (the mask that sets or clears it).
CREATE OR REPLACE FUNCTION dnc_block(p_phone bigint) RETURNS int
LANGUAGE sql IMMUTABLE AS $$ SELECT (p_phone / 8192)::int $$;
CREATE OR REPLACE FUNCTION dnc_bit(p_phone bigint) RETURNS bit
LANGUAGE sql IMMUTABLE AS $$ SELECT B'1'::bit(8192) >> (p_phone % 8192)::int $$;

-- Whether a number is listed, read from the bitmap as the rules read it (audience_rules.sql).
CREATE OR REPLACE FUNCTION dnc_listed(p_phone bigint)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT get_bit(b.bits, (p_phone % 8192)::int) = 1 FROM dnc_bitmap b WHERE b.block = dnc_block(p_phone)), false);
$$;

-- Applies changes: (phone, listed) pairs, the newest state of each number.
CREATE OR REPLACE FUNCTION dnc_bitmap_apply(p_phones bigint[], p_listed boolean[])
RETURNS void
LANGUAGE sql AS $$
  INSERT INTO dnc_bitmap (block, bits)
  SELECT DISTINCT dnc_block(c.phone), B'0'::bit(8192)
  FROM unnest(p_phones, p_listed) AS c(phone, listed) WHERE c.listed
  ORDER BY 1
  ON CONFLICT (block) DO NOTHING;

  UPDATE dnc_bitmap b
     SET bits = (b.bits & ~m.clear_bits) | m.set_bits
    FROM (
      SELECT dnc_block(c.phone) AS block,
             coalesce(bit_or(dnc_bit(c.phone)) FILTER (WHERE c.listed), B'0'::bit(8192)) AS set_bits,
             coalesce(bit_or(dnc_bit(c.phone)) FILTER (WHERE NOT c.listed), B'0'::bit(8192)) AS clear_bits
      FROM unnest(p_phones, p_listed) AS c(phone, listed)
      GROUP BY 1
    ) m
   WHERE b.block = m.block;

  DELETE FROM dnc_bitmap b
   WHERE b.block IN (SELECT DISTINCT dnc_block(c.phone) FROM unnest(p_phones) AS c(phone))
     AND b.bits = B'0'::bit(8192);
$$;

-- The triggers: the numbers whose listing a statement changed (an insert lists or tombstones a
-- number; an update that only moves src_seq changes nothing; a delete unlists).
CREATE OR REPLACE FUNCTION dnc_numbers_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM dnc_bitmap_apply(array_agg(n.phone), array_agg(n.listed)) FROM new_rows n HAVING count(*) > 0;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION dnc_numbers_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM dnc_bitmap_apply(array_agg(n.phone), array_agg(n.listed))
     FROM new_rows n JOIN old_rows o ON o.phone = n.phone
    WHERE o.listed IS DISTINCT FROM n.listed
   HAVING count(*) > 0;
  -- a number whose key itself changed (not done by any path, but SQL allows it) is unlisted at its old value
  PERFORM dnc_bitmap_apply(array_agg(o.phone), array_agg(false))
     FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.phone = o.phone)
   HAVING count(*) > 0;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION dnc_numbers_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM dnc_bitmap_apply(array_agg(o.phone), array_agg(false)) FROM old_rows o HAVING count(*) > 0;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION dnc_numbers_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE dnc_bitmap;
  RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER dnc_numbers_bitmap_insert AFTER INSERT ON dnc_numbers
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dnc_numbers_inserted();
CREATE OR REPLACE TRIGGER dnc_numbers_bitmap_update AFTER UPDATE ON dnc_numbers
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dnc_numbers_updated();
CREATE OR REPLACE TRIGGER dnc_numbers_bitmap_delete AFTER DELETE ON dnc_numbers
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dnc_numbers_deleted();
CREATE OR REPLACE TRIGGER dnc_numbers_bitmap_truncate AFTER TRUNCATE ON dnc_numbers
  FOR EACH STATEMENT EXECUTE FUNCTION dnc_numbers_truncated();

-- What the bitmap should hold, computed from dnc_numbers alone; the rows that differ from it
-- (none, unless something bypassed the triggers). For audits and tests; dnc_bitmap_rebuild()
-- repairs from it.
CREATE OR REPLACE FUNCTION dnc_bitmap_differences()
RETURNS TABLE (block int, expected bit(8192), actual bit(8192))
LANGUAGE sql STABLE AS $$
  WITH expected AS (
    SELECT dnc_block(phone) AS block, bit_or(dnc_bit(phone)) AS bits
    FROM dnc_numbers WHERE listed GROUP BY 1
  )
  SELECT coalesce(e.block, a.block), e.bits, a.bits
  FROM expected e FULL JOIN dnc_bitmap a ON a.block = e.block
  WHERE e.bits IS DISTINCT FROM a.bits;
$$;

CREATE OR REPLACE FUNCTION dnc_bitmap_rebuild()
RETURNS bigint
LANGUAGE sql AS $$
  LOCK TABLE dnc_numbers IN SHARE MODE;
  DELETE FROM dnc_bitmap;
  INSERT INTO dnc_bitmap (block, bits)
  SELECT dnc_block(phone), bit_or(dnc_bit(phone)) FROM dnc_numbers WHERE listed GROUP BY 1;
  SELECT count(*) FROM dnc_bitmap;
$$;
