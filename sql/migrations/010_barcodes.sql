-- Up Migration
-- Barcodes: partner A embeds the IMb in its mortgage file; partners B, C and D send a barcode map
-- (mortgage id -> IMb) that may arrive before or after their mortgages. Staging keeps the barcode
-- exactly as received (imb_raw) beside the canonical 20-digit tracking code.
ALTER TABLE staging_mortgages
  ADD COLUMN routing_code text,
  ADD COLUMN imb_repaired boolean;

CREATE TABLE staging_barcode_map (
  import_id      uuid NOT NULL,
  chunk_index    int NOT NULL,
  source_row     bigint NOT NULL,
  src_seq        bigint NOT NULL,
  partner        text NOT NULL,
  mortgage_id    text NOT NULL,
  -- as received: the cell in any encoding, or the component fields joined by '|'
  imb_raw        text NOT NULL,
  imb_encoding   text NOT NULL CHECK (imb_encoding IN ('bars', 'numeric', 'fields')),
  imb_repaired   boolean NOT NULL,
  tracking_code  text NOT NULL,
  routing_code   text
);
CREATE INDEX staging_barcode_map_chunk ON staging_barcode_map (import_id, chunk_index);

-- Every barcode a partner assigned to a mortgage, from either path, kept whether or not the
-- mortgage has arrived: the pending half of the backfill. A tracking code names one piece, so it
-- is assigned once (to one partner and one mortgage); link_mail_pieces() joins it to the mortgage
-- once the same partner's mortgage exists.
CREATE TABLE barcode_assignments (
  tracking_code  text PRIMARY KEY CHECK (tracking_code ~ '^[0-9]{20}$'),
  partner        text NOT NULL,
  mortgage_id    text NOT NULL,
  routing_code   text,
  imb_raw        text NOT NULL,
  import_id      uuid NOT NULL,
  source_row     bigint NOT NULL,
  src_seq        bigint NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX barcode_assignments_mortgage ON barcode_assignments (mortgage_id, partner);

-- The barcodes staged by either path, one shape (the promotion functions read this).
CREATE VIEW staged_barcodes AS
  SELECT 'barcode-map'::text AS kind, import_id, chunk_index, source_row, src_seq, partner, mortgage_id, imb_raw, tracking_code, routing_code
  FROM staging_barcode_map
  UNION ALL
  SELECT 'mortgages'::text, import_id, chunk_index, source_row, src_seq, partner, mortgage_id, imb_raw, tracking_code, routing_code
  FROM staging_mortgages WHERE tracking_code IS NOT NULL;

-- Down Migration
DROP VIEW staged_barcodes;
DROP TABLE barcode_assignments;
DROP TABLE staging_barcode_map;
ALTER TABLE staging_mortgages DROP COLUMN imb_repaired, DROP COLUMN routing_code;
