-- Up Migration
-- Legacy campaigns and touchpoints (leadpipe migrate): each legacy table lands as imports of the
-- legacy-campaigns / legacy-touchpoints sources, staged here and promoted by
-- promote_legacy_campaigns / promote_legacy_touchpoints (sql/functions/legacy_migration.sql).
-- The canonical rows keep their lineage: the legacy row (legacy_id, as person records keep it in
-- source_key) and the import and source row that last wrote them.
ALTER TABLE campaigns
  ADD COLUMN legacy_id  text UNIQUE,
  ADD COLUMN import_id  uuid,
  ADD COLUMN source_row bigint,
  ADD COLUMN src_seq    bigint;

-- A legacy touchpoint names its person by the legacy row of a person table: the person record
-- landed from that row (person_record_id); person_id follows that record's golden record.
ALTER TABLE touchpoints
  ADD COLUMN person_record_id bigint REFERENCES person_records (record_id) ON DELETE SET NULL,
  ADD COLUMN legacy_id        text,
  ADD COLUMN import_id        uuid,
  ADD COLUMN source_row       bigint;
CREATE INDEX touchpoints_person_record ON touchpoints (person_record_id) WHERE person_record_id IS NOT NULL;
CREATE INDEX touchpoints_legacy ON touchpoints (legacy_id) WHERE legacy_id IS NOT NULL;

CREATE TABLE staging_legacy_campaigns (
  import_id    uuid NOT NULL,
  chunk_index  int NOT NULL,
  source_row   bigint NOT NULL,
  src_seq      bigint NOT NULL,
  partner      text NOT NULL,
  legacy_id    text NOT NULL,
  name         text NOT NULL,
  description  text,
  channel      text NOT NULL,
  created_at   timestamptz
);
CREATE INDEX staging_legacy_campaigns_chunk ON staging_legacy_campaigns (import_id, chunk_index);

CREATE TABLE staging_legacy_touchpoints (
  import_id     uuid NOT NULL,
  chunk_index   int NOT NULL,
  source_row    bigint NOT NULL,
  src_seq       bigint NOT NULL,
  partner       text NOT NULL,
  legacy_id     text NOT NULL,
  -- the campaign: a legacy campaign row's lineage (campaigns.legacy_id) or a campaign's name
  campaign_ref  text NOT NULL,
  -- the person: a legacy person row's lineage (person_records.source_key 'legacy_id=' || upper(lineage))
  person_ref    text NOT NULL,
  channel       text NOT NULL,
  touched_at    timestamptz NOT NULL
);
CREATE INDEX staging_legacy_touchpoints_chunk ON staging_legacy_touchpoints (import_id, chunk_index);

-- Down Migration
DROP TABLE staging_legacy_touchpoints;
DROP TABLE staging_legacy_campaigns;
DROP INDEX touchpoints_legacy;
DROP INDEX touchpoints_person_record;
ALTER TABLE touchpoints DROP COLUMN person_record_id, DROP COLUMN legacy_id, DROP COLUMN import_id, DROP COLUMN source_row;
ALTER TABLE campaigns DROP COLUMN legacy_id, DROP COLUMN import_id, DROP COLUMN source_row, DROP COLUMN src_seq;
