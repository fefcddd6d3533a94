-- Up Migration
-- What an import did to golden records (People.resolveImport's created/attached counts) is read from merge_audit by
-- import: without an index that read scanned the whole audit log, which grows with every import.
CREATE INDEX merge_audit_import ON merge_audit (import_id) WHERE action IN ('create', 'attach');

-- Down Migration
DROP INDEX merge_audit_import;
