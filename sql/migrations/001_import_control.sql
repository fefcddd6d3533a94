-- Up Migration
CREATE TABLE imports (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  bucket          text NOT NULL,
  object_key      text NOT NULL,
  -- identifies one S3 notification (sequencer, else eTag + event time): a replayed event maps to the same import
  event_key       text NOT NULL,
  file_name       text NOT NULL,
  source          text,
  partner         text,
  kind            text,
  schema_version  int,
  size_bytes      bigint,
  etag            text,
  sha256          text,
  uploaded_by     text,
  uploaded_at     timestamptz,
  status          text NOT NULL DEFAULT 'PENDING'
                  CHECK (status IN ('PENDING','STAGING','PROCESSING','COMPLETE','COMPLETE_WITH_ERRORS','FAILED','DUPLICATE')),
  status_reason   text,
  current_step    text,
  failed_step     text,
  duplicate_of    uuid REFERENCES imports(id),
  chunks_total    int,
  chunks_done     int NOT NULL DEFAULT 0,
  rows_read       bigint,
  accepted        bigint,
  rejected        bigint,
  inserted        bigint,
  updated         bigint,
  unchanged       bigint,
  step_timings    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  started_at      timestamptz,
  finished_at     timestamptz,
  UNIQUE (bucket, object_key, event_key)
);
-- A re-sent file (same source, same bytes) is a duplicate of the live import; a FAILED one may be re-sent.
CREATE UNIQUE INDEX imports_live_content ON imports (source, sha256)
  WHERE sha256 IS NOT NULL AND status NOT IN ('FAILED', 'DUPLICATE');
CREATE INDEX imports_created_at ON imports (created_at DESC);

CREATE TABLE import_chunks (
  import_id     uuid NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
  chunk_index   int NOT NULL,
  object_key    text NOT NULL,
  line_offset   bigint NOT NULL,
  records       int NOT NULL,
  status        text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING','DONE')),
  attempts      int NOT NULL DEFAULT 0,
  rows_read     int,
  accepted      int,
  rejected      int,
  inserted      int,
  updated       int,
  unchanged     int,
  duration_ms   int,
  finished_at   timestamptz,
  PRIMARY KEY (import_id, chunk_index)
);

CREATE TABLE import_rejects (
  import_id     uuid NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
  chunk_index   int NOT NULL,
  row_number    bigint NOT NULL,
  error_type    text NOT NULL,
  field_name    text,
  field_value   text,
  error_message text NOT NULL,
  raw_record    text
);
CREATE INDEX import_rejects_chunk ON import_rejects (import_id, chunk_index);

-- Down Migration
DROP TABLE import_rejects;
DROP TABLE import_chunks;
DROP TABLE imports;
