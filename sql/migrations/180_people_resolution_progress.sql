-- Up Migration
-- An import's people resolved batch by batch, each batch its own transaction: the row says the import's
-- records were fed and counted (once) and what the committed batches did. A crash between batches resumes
-- from the records still unresolved; the row goes when the resolution is recorded in people_resolutions.
CREATE TABLE people_resolution_progress (
  import_id   uuid PRIMARY KEY,
  batches     int NOT NULL DEFAULT 0,
  records     int NOT NULL DEFAULT 0,
  merged      int NOT NULL DEFAULT 0,
  links       int NOT NULL DEFAULT 0,
  started_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON people_resolution_progress FROM PUBLIC;

-- Down Migration
DROP TABLE people_resolution_progress;
