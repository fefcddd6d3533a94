-- Up Migration
-- A chunk's embedded barcodes (staged_barcodes over staging_mortgages: tracking_code IS NOT NULL)
-- are read by promote_barcodes, link_mail_pieces and reject_foreign_claims. Through the chunk
-- index that meant reading all of a chunk's staged rows, two or three times a chunk, even when
-- none carries a barcode (partners B, C and D never do): ~25 ms of a 50k-row chunk. This index
-- holds only the rows that carry one, so such a chunk finds none at once.
CREATE INDEX staging_mortgages_barcodes ON staging_mortgages (import_id, chunk_index) WHERE tracking_code IS NOT NULL;

-- Down Migration
DROP INDEX staging_mortgages_barcodes;
