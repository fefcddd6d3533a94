-- Up Migration
-- A barcode map may claim a mortgage id before its owner's mortgage file arrives. When that
-- mortgage lands, the claim is rejected as if the mortgage had been there first (see
-- reject_foreign_claims in functions/mail_pieces.sql): the map row becomes a rejected row of the
-- map's import, recorded here with the import whose arrival decided it.
ALTER TABLE import_rejects ADD COLUMN rejected_later_by uuid REFERENCES imports(id) ON DELETE SET NULL;
CREATE INDEX import_rejects_rejected_later_by ON import_rejects (rejected_later_by) WHERE rejected_later_by IS NOT NULL;

-- The row that created an assignment (its import and source row), so that a claim rejected later
-- is taken off the count it was added to: inserted for this row, updated for the row that last
-- changed it, unchanged for the others.
ALTER TABLE barcode_assignments
  ADD COLUMN first_import_id uuid,
  ADD COLUMN first_source_row bigint;

-- Every staged map row that claims a mortgage (the rows of every import, not only the one that
-- created the assignment), found when that mortgage arrives.
CREATE INDEX staging_barcode_map_mortgage ON staging_barcode_map (mortgage_id);

-- Down Migration
DROP INDEX staging_barcode_map_mortgage;
ALTER TABLE barcode_assignments DROP COLUMN first_source_row, DROP COLUMN first_import_id;
DROP INDEX import_rejects_rejected_later_by;
ALTER TABLE import_rejects DROP COLUMN rejected_later_by;
