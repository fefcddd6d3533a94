-- Up Migration
-- Golden record merges and the CRM (issue 23): the merges that moved the absorbed record's Pipedrive
-- links (snapshots, CRM fields, open retry-ledger rows) to the survivor, so undoing the merge gives
-- exactly those back. Rules: sql/functions/pipedrive_merges.sql.
CREATE TABLE pipedrive_merge_moves (
  merge_id  bigint PRIMARY KEY REFERENCES person_merges (merge_id) ON DELETE CASCADE,
  moved_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TRIGGER IF EXISTS person_merges_pipedrive_unmerge ON person_merges;
DROP TRIGGER IF EXISTS person_merges_pipedrive_merge ON person_merges;
DROP FUNCTION IF EXISTS pipedrive_follow_unmerge();
DROP FUNCTION IF EXISTS pipedrive_follow_merge();
DROP TABLE pipedrive_merge_moves;
