-- Barcodes assigned to a mortgage that has not arrived (or belongs to another partner): what the
-- backfill is still waiting for, with how long it has waited.
CREATE OR REPLACE VIEW pending_barcodes AS
  SELECT a.tracking_code, a.partner, a.mortgage_id, a.routing_code, a.imb_raw, a.import_id, a.source_row,
         a.created_at AS assigned_at, m.partner AS mortgage_partner
  FROM barcode_assignments a
  LEFT JOIN mail_pieces p ON p.tracking_code = a.tracking_code
  LEFT JOIN mortgages m ON m.mortgage_id = a.mortgage_id
  WHERE p.tracking_code IS NULL;
