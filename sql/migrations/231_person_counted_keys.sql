-- Up Migration
-- The value keys a resolved record was counted under ("#g:robert", "#l:smith", "#d:…", "#z:…", "#f:bob": what a newer
-- delivery takes away from person_value_counts) move from person_keys to the record itself: they are read only by
-- record, never probed, and were five of every record's twelve index entries in person_keys. The resolution writes
-- them with the record's golden record id, in the update it makes anyway.
ALTER TABLE person_records ADD COLUMN counted_keys text[];
UPDATE person_records r SET counted_keys = k.keys
  FROM (SELECT record_id, array_agg(key ORDER BY key) AS keys FROM person_keys WHERE key LIKE '#%' GROUP BY record_id) k
 WHERE r.record_id = k.record_id;
DELETE FROM person_keys WHERE key LIKE '#%';

-- Down Migration
INSERT INTO person_keys (key, record_id)
SELECT DISTINCT k, record_id FROM person_records, unnest(counted_keys) AS k WHERE counted_keys IS NOT NULL
ON CONFLICT DO NOTHING;
ALTER TABLE person_records DROP COLUMN counted_keys;
