-- Up Migration
-- The do-not-call registry as the audience rules read it: one bit per 10-digit number, in blocks
-- of 8,192 numbers (1 KB each; block = phone / 8192, the bit = phone % 8192). Chosen by
-- measurement (docs/audiences.md): at the national size the btree no longer fits in memory, the
-- bitmap does. dnc_numbers stays the source of truth (tombstones, lineage, out-of-order files);
-- this table is derived from it by the triggers in sql/functions/dnc_bitmap.sql, and holds no
-- block without a listed number, so the same dnc_numbers always gives the same rows.
CREATE TABLE dnc_bitmap (
  block  int PRIMARY KEY,
  bits   bit(8192) NOT NULL
);

-- The numbers already listed.
INSERT INTO dnc_bitmap (block, bits)
SELECT (phone / 8192)::int, bit_or(B'1'::bit(8192) >> (phone % 8192)::int)
FROM dnc_numbers WHERE listed
GROUP BY 1;

-- Down Migration
DROP TABLE dnc_bitmap;
