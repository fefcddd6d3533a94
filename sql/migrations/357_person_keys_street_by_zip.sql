-- Up Migration
-- Blocking keys as match.ts forEachBlockKey writes them now, for the records resolved before:
-- 1. The house-and-street key meets across ZIPs only where a ZIP is missing: a record with a ZIP stays indexed under
--    s:house|street and is also under x:house|street|<its ZIP's digits sorted> (a ZIP with two digits swapped); one
--    without a ZIP also under n:house|street (which records with a ZIP look up instead of s:).
-- 2. Keys no pair needs: 7: (name + last 7 phone digits) and d: (name + date of birth) are held by q: (the last 7
--    digits) and f: (date of birth + given name); p: (the whole number) only for a number without 7 digits. A record
--    resolved before q: existed gets it here.
INSERT INTO person_keys (key, record_id)
SELECT CASE WHEN coalesce(r.zip5, '') = '' THEN 'n:' || substr(k.key, 3)
            ELSE 'x:' || substr(k.key, 3) || '|' ||
                 (SELECT string_agg(d, '' ORDER BY d COLLATE "C") FROM regexp_split_to_table(r.zip5, '') AS d)
       END,
       k.record_id
  FROM person_keys k JOIN person_records r ON r.record_id = k.record_id
 WHERE left(k.key, 2) = 's:'
ON CONFLICT DO NOTHING;

INSERT INTO person_keys (key, record_id)
SELECT 'q:' || r.phone7, r.record_id FROM person_records r
 WHERE r.resolved_at IS NOT NULL AND coalesce(r.phone7, '') <> ''
ON CONFLICT DO NOTHING;

DELETE FROM person_keys k
 WHERE left(k.key, 2) IN ('7:', 'd:')
    OR (left(k.key, 2) = 'p:' AND EXISTS (SELECT FROM person_records r WHERE r.record_id = k.record_id AND coalesce(r.phone7, '') <> ''));

-- Down Migration
-- The code before this migration finds every pair through the keys left (q: holds p: and 7:, f: holds d:, every record
-- is under s:); it writes p:, 7: and d: again for the records it resolves.
DELETE FROM person_keys WHERE left(key, 2) IN ('n:', 'x:');
