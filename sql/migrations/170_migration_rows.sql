-- Up Migration
-- Lineage of legacy rows that land in tables without a place for it (opt-outs, do-not-call): the
-- legacy row (source/table/primary key), the object and row it was written to (its import is the
-- object's; the canonical row keeps that import and source row), and the columns the mapping did
-- not map (kept, never dropped silently), as person records keep them in raw.extra.
CREATE TABLE migration_rows (
  target       text NOT NULL,
  -- <kind>:<database or file>/<table>/<primary key>, as legacy_id is for person records.
  lineage      text NOT NULL,
  table_name   text NOT NULL,
  pk           text NOT NULL,
  object_key   text NOT NULL,
  source_row   int NOT NULL,
  -- {table, pk, columns, exact?, flags?}: the same shape as person_records.raw.extra.
  extra        jsonb NOT NULL,
  written_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (target, lineage)
);
CREATE INDEX migration_rows_object ON migration_rows (object_key, source_row);

-- Down Migration
DROP TABLE migration_rows;
