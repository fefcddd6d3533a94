-- Up Migration
-- The members of the anchoring groups (packages/core/src/people/frequencies.ts, ANCHORS): the sampled records by
-- e-mail (group_key 'e:' || email) and by phone ('p:' || phone), with what an anchored pair compares. The anchored
-- totals in person_value_counts ('#az' … '#ae!') are a pure function of these rows: each group's pairs, none for a
-- group past ANCHOR_GROUP_LIMIT members. Written when an import is counted (resolve.ts countImport): a newer
-- delivery of a record replaces its rows by record_id and the totals of the groups it left or joined are recomputed;
-- seeded from every record when person_value_counts lacks its marker ('#!anchors').
CREATE TABLE person_anchor_members (
  group_key  text   NOT NULL,
  record_id  bigint NOT NULL REFERENCES person_records (record_id) ON DELETE CASCADE,
  formal     text   NOT NULL,
  last_name  text,
  dob        text,
  zip5       text,
  phone7     text,
  email      text,
  PRIMARY KEY (group_key, record_id)
);
CREATE INDEX person_anchor_members_record ON person_anchor_members (record_id);

-- Down Migration
DROP TABLE person_anchor_members;
