-- dnc_bitmap (migration 043) follows dnc_numbers: every statement that inserts, updates or deletes
-- registry rows sets or clears the bits of the numbers whose listing it changed, whatever path
-- wrote them (chunk promotion, a full file's completion, a replay, an operator's SQL). The bits
-- are set in one UPDATE per statement that computes each block from the row it updates, so
-- concurrent changes to one block compose (the pipeline also serializes registry writers).
-- Blocks left without a listed number are deleted: equal dnc_numbers, equal dnc_bitmap.

-- A number's block (its bit is phone % 8192).
CREATE OR REPLACE FUNCTION dnc_block(p_phone bigint) RETURNS int
LANGUAGE sql IMMUTABLE AS $$ SELECT (p_phone / 8192)::int $$;

-- Whether a number is listed, read from the bitmap as the rules read it (audience_rules.sql).
CREATE OR REPLACE FUNCTION dnc_listed(p_phone bigint)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT get_bit(b.bits, (p_phone % 8192)::int) = 1 FROM dnc_bitmap b WHERE b.block = dnc_block(p_phone)), false);
$$;

-- A block with the bits at p_clear offsets cleared and at p_set offsets set. One set_bit per
-- number (a 1 KB copy each), instead of a 1 KB mask per number OR-ed together: a change file
-- touches ~1 number per block, and masks of every number made the grouping spill to disk.
CREATE OR REPLACE FUNCTION dnc_bits_with(p_bits bit, p_set int[], p_clear int[])
RETURNS bit
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  b bit(8192) := p_bits;
  o int;
BEGIN
  FOREACH o IN ARRAY coalesce(p_clear, '{}') LOOP b := set_bit(b, o, 0); END LOOP;
  FOREACH o IN ARRAY coalesce(p_set, '{}') LOOP b := set_bit(b, o, 1); END LOOP;
  RETURN b;
END $$;

-- Applies changes: (phone, listed) pairs, the newest state of each number. Existing blocks are
-- updated in place (SET reads the row being updated, so when two writers meet PostgreSQL applies
-- the second change to the first one's result), an update only where a bit changes (no dead row
-- versions for nothing); missing blocks are inserted with their bits; emptied blocks are deleted.
CREATE OR REPLACE FUNCTION dnc_bitmap_apply(p_phones bigint[], p_listed boolean[])
RETURNS void
LANGUAGE sql AS $$
  UPDATE dnc_bitmap b
     SET bits = dnc_bits_with(b.bits, c.sets, c.clears)
    FROM (
      SELECT dnc_block(x.phone) AS block,
             array_agg((x.phone % 8192)::int) FILTER (WHERE x.listed) AS sets,
             array_agg((x.phone % 8192)::int) FILTER (WHERE NOT x.listed) AS clears
      FROM unnest(p_phones, p_listed) AS x(phone, listed)
      GROUP BY 1
    ) c
   WHERE b.block = c.block
     AND (EXISTS (SELECT 1 FROM unnest(c.sets) o WHERE get_bit(b.bits, o) = 0)
       OR EXISTS (SELECT 1 FROM unnest(c.clears) o WHERE get_bit(b.bits, o) = 1));

  INSERT INTO dnc_bitmap AS b (block, bits)
  SELECT c.block, dnc_bits_with(B'0'::bit(8192), c.sets, NULL)
    FROM (
      SELECT dnc_block(x.phone) AS block, array_agg((x.phone % 8192)::int) AS sets
      FROM unnest(p_phones, p_listed) AS x(phone, listed)
      WHERE x.listed
      GROUP BY 1
    ) c
   WHERE NOT EXISTS (SELECT 1 FROM dnc_bitmap e WHERE e.block = c.block)
   ORDER BY c.block
  ON CONFLICT (block) DO UPDATE SET bits = b.bits | excluded.bits;

  DELETE FROM dnc_bitmap b
   WHERE b.block IN (SELECT dnc_block(x.phone) FROM unnest(p_phones, p_listed) AS x(phone, listed) WHERE NOT x.listed)
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
CREATE OR REPLACE FUNCTION dnc_bitmap_expected()
RETURNS TABLE (block int, bits bit(8192))
LANGUAGE sql STABLE AS $$
  SELECT dnc_block(phone), dnc_bits_with(B'0'::bit(8192), array_agg((phone % 8192)::int), NULL)
  FROM dnc_numbers WHERE listed GROUP BY 1;
$$;

CREATE OR REPLACE FUNCTION dnc_bitmap_differences()
RETURNS TABLE (block int, expected bit(8192), actual bit(8192))
LANGUAGE sql STABLE AS $$
  SELECT coalesce(e.block, a.block), e.bits, a.bits
  FROM dnc_bitmap_expected() e FULL JOIN dnc_bitmap a ON a.block = e.block
  WHERE e.bits IS DISTINCT FROM a.bits;
$$;

CREATE OR REPLACE FUNCTION dnc_bitmap_rebuild()
RETURNS bigint
LANGUAGE sql AS $$
  LOCK TABLE dnc_numbers IN SHARE MODE;
  DELETE FROM dnc_bitmap;
  INSERT INTO dnc_bitmap (block, bits) SELECT e.block, e.bits FROM dnc_bitmap_expected() e;
  SELECT count(*) FROM dnc_bitmap;
$$;
