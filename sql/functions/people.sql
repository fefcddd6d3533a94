-- People: the rules every path shares (the pipeline's ResolvePeople step, manual merges,
-- overrides and unmerges by operators).

-- Golden-record survivorship, per field group (name, e-mail, phone, date of birth, address), in
-- the order the business asked: a manual override; else the value from the most recent source
-- (the import that landed last); among records of one import, the most complete record; then a
-- verified contact point; then the earliest record. Rebuilds the persons' contact points, and
-- writes a 'survive' audit row saying which field came from which record by which rule whenever
-- a golden record changes. Returns how many golden records changed.
-- Planned for each call's own array (plan_cache_mode): a plan cached from the one-person calls of
-- people_merge must not serve a call for ten thousand.
CREATE OR REPLACE FUNCTION people_survive(p_person_ids bigint[], p_import_id uuid DEFAULT NULL)
RETURNS int LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan SET work_mem = '64MB' SET enable_hashagg = off AS $$
DECLARE
  changed int;
BEGIN
  -- Contact points are written as a difference (what is no longer wanted deleted, what is new inserted, what changed
  -- updated): a record attached to a golden record leaves its other contact points untouched.
  WITH want AS (
    SELECT DISTINCT ON (person_id, phone) person_id, phone, bool_or(phone_verified) OVER (PARTITION BY person_id, phone) AS verified,
           record_id, raw->>'phone' AS raw, max(src_seq) OVER (PARTITION BY person_id, phone) AS last_seq
      FROM person_records WHERE person_id = ANY (p_person_ids) AND phone IS NOT NULL
     ORDER BY person_id, phone, src_seq DESC, record_id
  ), gone AS (
    DELETE FROM person_phones p WHERE p.person_id = ANY (p_person_ids)
       AND NOT EXISTS (SELECT 1 FROM want w WHERE w.person_id = p.person_id AND w.phone = p.phone)
  )
  INSERT INTO person_phones AS p (person_id, phone, verified, record_id, raw, last_seq) SELECT * FROM want
  ON CONFLICT (person_id, phone) DO UPDATE
     SET verified = excluded.verified, record_id = excluded.record_id, raw = excluded.raw, last_seq = excluded.last_seq
   WHERE (p.verified, p.record_id, p.raw, p.last_seq) IS DISTINCT FROM (excluded.verified, excluded.record_id, excluded.raw, excluded.last_seq);
  WITH want AS (
    SELECT DISTINCT ON (person_id, email) person_id, email, bool_or(email_verified) OVER (PARTITION BY person_id, email) AS verified,
           record_id, raw->>'email' AS raw, max(src_seq) OVER (PARTITION BY person_id, email) AS last_seq
      FROM person_records WHERE person_id = ANY (p_person_ids) AND email IS NOT NULL
     ORDER BY person_id, email, src_seq DESC, record_id
  ), gone AS (
    DELETE FROM person_emails e WHERE e.person_id = ANY (p_person_ids)
       AND NOT EXISTS (SELECT 1 FROM want w WHERE w.person_id = e.person_id AND w.email = e.email)
  )
  INSERT INTO person_emails AS e (person_id, email, verified, record_id, raw, last_seq) SELECT * FROM want
  ON CONFLICT (person_id, email) DO UPDATE
     SET verified = excluded.verified, record_id = excluded.record_id, raw = excluded.raw, last_seq = excluded.last_seq
   WHERE (e.verified, e.record_id, e.raw, e.last_seq) IS DISTINCT FROM (excluded.verified, excluded.record_id, excluded.raw, excluded.last_seq);
  WITH want AS (
    SELECT DISTINCT ON (person_id, address_line1, coalesce(zip5, '')) person_id, address_line1, city, state, coalesce(zip5, '') AS zip5, zip4,
           record_id, max(src_seq) OVER (PARTITION BY person_id, address_line1, coalesce(zip5, '')) AS last_seq
      FROM person_records WHERE person_id = ANY (p_person_ids) AND address_line1 IS NOT NULL
     ORDER BY person_id, address_line1, coalesce(zip5, ''), src_seq DESC, record_id
  ), gone AS (
    DELETE FROM person_addresses a WHERE a.person_id = ANY (p_person_ids)
       AND NOT EXISTS (SELECT 1 FROM want w WHERE w.person_id = a.person_id AND w.address_line1 = a.address_line1 AND w.zip5 = a.zip5)
  )
  INSERT INTO person_addresses AS a (person_id, address_line1, city, state, zip5, zip4, record_id, last_seq) SELECT * FROM want
  ON CONFLICT (person_id, address_line1, zip5) DO UPDATE
     SET city = excluded.city, state = excluded.state, zip4 = excluded.zip4, record_id = excluded.record_id, last_seq = excluded.last_seq
   WHERE (a.city, a.state, a.zip4, a.record_id, a.last_seq) IS DISTINCT FROM
         (excluded.city, excluded.state, excluded.zip4, excluded.record_id, excluded.last_seq);

  -- Each field group's chosen record carries its values (no join back to person_records per
  -- group), and every statement is a scan of the touched persons' records followed by sorts and
  -- hash aggregates: no join whose plan depends on how many rows the planner guesses a CTE holds
  -- (at 100k golden records, five joins on a CTE it guessed at 2 rows became nested loops).
  -- Only the columns ranked below: the records' raw values, ids and counted keys (most of a row's width) stay out of
  -- the CTE's tuplestore and its five scans.
  WITH recs AS (
    SELECT r.person_id, r.record_id, r.src_seq >> 32 AS import_seq, r.completeness, r.first_name, r.middle_name,
           r.last_name, r.name_suffix, r.email, r.email_verified, r.phone, r.phone_verified, r.dob, r.address_line1,
           r.city, r.state, r.zip5, r.zip4
      FROM person_records r WHERE r.person_id = ANY (p_person_ids)
  ), candidates AS (
    SELECT 'name' AS grp, person_id, record_id, import_seq, completeness, false AS verified,
           '{first_name,middle_name,last_name,name_suffix}'::text[] AS fields, ARRAY[first_name, middle_name, last_name, name_suffix] AS vals
      FROM recs WHERE first_name IS NOT NULL OR last_name IS NOT NULL
    UNION ALL SELECT 'email', person_id, record_id, import_seq, completeness, email_verified, '{email}', ARRAY[email] FROM recs WHERE email IS NOT NULL
    UNION ALL SELECT 'phone', person_id, record_id, import_seq, completeness, phone_verified, '{phone}', ARRAY[phone] FROM recs WHERE phone IS NOT NULL
    UNION ALL SELECT 'dob', person_id, record_id, import_seq, completeness, false, '{dob}', ARRAY[dob::text] FROM recs WHERE dob IS NOT NULL
    UNION ALL SELECT 'address', person_id, record_id, import_seq, completeness, false, '{address_line1,city,state,zip5,zip4}',
                     ARRAY[address_line1, city, state, zip5, zip4] FROM recs WHERE address_line1 IS NOT NULL OR zip5 IS NOT NULL
  ), ranked AS (
    SELECT c.*, row_number() OVER w AS rn, lead(import_seq) OVER w AS next_seq, lead(completeness) OVER w AS next_completeness,
           lead(verified) OVER w AS next_verified
      FROM candidates c
    WINDOW w AS (PARTITION BY person_id, grp ORDER BY import_seq DESC, completeness DESC, verified DESC, record_id)
  ), fields AS (
    SELECT c.person_id, f.field, f.value, c.record_id,
           CASE WHEN next_seq IS NULL THEN 'only source'
                WHEN import_seq > next_seq THEN 'most recent source'
                WHEN completeness > next_completeness THEN 'most complete record'
                WHEN verified AND NOT next_verified THEN 'verified contact point'
                ELSE 'earliest record' END AS rule
      FROM ranked c CROSS JOIN LATERAL unnest(c.fields, c.vals) AS f(field, value)
     WHERE c.rn = 1
  ), overridden AS (
    SELECT f.person_id, f.field, f.value, f.record_id, f.rule FROM fields f
     WHERE NOT EXISTS (SELECT 1 FROM person_overrides o WHERE o.person_id = f.person_id AND o.field = f.field)
    UNION ALL
    SELECT o.person_id, o.field, o.value, NULL, 'manual override' FROM person_overrides o WHERE o.person_id = ANY (p_person_ids)
    UNION ALL
    -- A golden record with no records and no overrides still gets its (empty) row.
    SELECT p.person_id, NULL, NULL, NULL, NULL FROM unnest(p_person_ids) AS p(person_id)
  ), golden AS (
    -- The detail built as text, parsed once: jsonb_object_agg's per-person states were most of the time. The text is
    -- concatenated rather than made by json_build_object, which resolves its arguments' types on every call (a third
    -- slower over 92k fields): a field's name and its rule are fixed words that need no escaping, the value is quoted
    -- by to_json.
    SELECT person_id, jsonb_object(array_agg(field) FILTER (WHERE field IS NOT NULL), array_agg(value) FILTER (WHERE field IS NOT NULL)) AS v,
           '{' || string_agg('"' || field || '":{"value":' || coalesce(to_json(value)::text, 'null') || ',"record_id":'
                             || coalesce(record_id::text, 'null') || ',"rule":"' || rule || '"}', ',')
                  FILTER (WHERE field IS NOT NULL AND (value IS NOT NULL OR rule = 'manual override')) || '}' AS detail
      FROM overridden GROUP BY person_id
  ), updated AS (
    UPDATE persons p SET
      first_name = g.v->>'first_name', middle_name = g.v->>'middle_name', last_name = g.v->>'last_name', name_suffix = g.v->>'name_suffix',
      email = g.v->>'email', phone = g.v->>'phone', dob = (g.v->>'dob')::date, address_line1 = g.v->>'address_line1',
      city = g.v->>'city', state = g.v->>'state', zip5 = g.v->>'zip5', zip4 = g.v->>'zip4', updated_at = now()
      FROM golden g
     WHERE p.person_id = g.person_id
       AND (p.first_name, p.middle_name, p.last_name, p.name_suffix, p.email, p.phone, p.dob, p.address_line1, p.city, p.state, p.zip5, p.zip4)
           IS DISTINCT FROM
           (g.v->>'first_name', g.v->>'middle_name', g.v->>'last_name', g.v->>'name_suffix', g.v->>'email', g.v->>'phone', (g.v->>'dob')::date,
            g.v->>'address_line1', g.v->>'city', g.v->>'state', g.v->>'zip5', g.v->>'zip4')
    RETURNING p.person_id, g.detail
  )
  -- The detail parsed only for the golden records that changed (parsing was most of building it).
  INSERT INTO merge_audit (person_id, action, import_id, detail)
  SELECT person_id, 'survive', p_import_id, coalesce(detail::jsonb, '{}') FROM updated ORDER BY person_id;
  GET DIAGNOSTICS changed = ROW_COUNT;
  RETURN changed;
END $$;

-- Merges golden record p_absorbed into p_survivor: its records move over, the links that
-- joined them are recorded, and everything needed to undo it exactly is kept in person_merges.
-- The absorbed record's manual overrides are kept with the merge (the survivor's apply).
CREATE OR REPLACE FUNCTION people_merge(p_survivor bigint, p_absorbed bigint, p_cause text, p_links jsonb DEFAULT '[]', p_import_id uuid DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  m bigint;
  moved bigint[];
BEGIN
  IF p_survivor = p_absorbed THEN RAISE EXCEPTION 'cannot merge person % into itself', p_survivor; END IF;
  PERFORM 1 FROM persons WHERE person_id = p_survivor;
  IF NOT FOUND THEN RAISE EXCEPTION 'person % does not exist', p_survivor; END IF;
  SELECT coalesce(array_agg(record_id ORDER BY record_id), '{}') INTO moved FROM person_records WHERE person_id = p_absorbed;
  INSERT INTO person_merges (survivor_id, absorbed_id, absorbed, absorbed_overrides, moved_records, links, cause, import_id)
  SELECT p_survivor, p_absorbed, to_jsonb(p),
         coalesce((SELECT jsonb_agg(to_jsonb(o)) FROM person_overrides o WHERE o.person_id = p_absorbed), '[]'),
         moved, coalesce(p_links, '[]'), p_cause, p_import_id
    FROM persons p WHERE p.person_id = p_absorbed
  RETURNING merge_id INTO m;
  IF m IS NULL THEN RAISE EXCEPTION 'person % does not exist', p_absorbed; END IF;
  UPDATE person_records SET person_id = p_survivor WHERE person_id = p_absorbed;
  INSERT INTO person_links (record_id, matched_record_id, score, tier, reason, import_id)
  SELECT record_id, matched_record_id, score, tier, reason, p_import_id
    FROM jsonb_to_recordset(coalesce(p_links, '[]')) AS x(record_id bigint, matched_record_id bigint, score numeric, tier text, reason text)
  ON CONFLICT DO NOTHING;
  DELETE FROM persons WHERE person_id = p_absorbed;
  INSERT INTO merge_audit (person_id, action, merge_id, import_id, detail)
  VALUES (p_survivor, 'merge', m, p_import_id, jsonb_build_object('absorbed', p_absorbed, 'records', to_jsonb(moved), 'cause', p_cause, 'links', coalesce(p_links, '[]')));
  PERFORM people_survive(ARRAY[p_survivor], p_import_id);
  RETURN m;
END $$;

-- Splits a wrong merge: the absorbed golden record comes back with its id, fields, overrides
-- and records; the links the merge recorded are removed and remembered as "never link these
-- two records again"; both golden records are survived anew.
CREATE OR REPLACE FUNCTION people_unmerge(p_merge_id bigint, p_by text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  m person_merges;
BEGIN
  SELECT * INTO m FROM person_merges WHERE merge_id = p_merge_id FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'no merge %', p_merge_id; END IF;
  IF m.unmerged_at IS NOT NULL THEN RAISE EXCEPTION 'merge % was already undone at % by %', p_merge_id, m.unmerged_at, m.unmerged_by; END IF;
  INSERT INTO persons SELECT * FROM jsonb_populate_record(NULL::persons, m.absorbed);
  UPDATE person_records SET person_id = m.absorbed_id WHERE record_id = ANY (m.moved_records) AND person_id = m.survivor_id;
  DELETE FROM person_links l
   USING jsonb_to_recordset(m.links) AS x(record_id bigint, matched_record_id bigint)
   WHERE l.record_id = x.record_id AND l.matched_record_id = x.matched_record_id;
  INSERT INTO person_no_links (record_id, other_record_id, merge_id)
  SELECT record_id, matched_record_id, p_merge_id FROM jsonb_to_recordset(m.links) AS x(record_id bigint, matched_record_id bigint)
  ON CONFLICT DO NOTHING;
  INSERT INTO person_overrides SELECT * FROM jsonb_populate_recordset(NULL::person_overrides, m.absorbed_overrides);
  UPDATE person_merges SET unmerged_at = now(), unmerged_by = p_by WHERE merge_id = p_merge_id;
  PERFORM people_survive(ARRAY[m.survivor_id, m.absorbed_id], NULL);
  INSERT INTO merge_audit (person_id, action, merge_id, detail)
  VALUES (m.survivor_id, 'unmerge', p_merge_id, jsonb_build_object('restored', m.absorbed_id, 'records', to_jsonb(m.moved_records), 'by', p_by)),
         (m.absorbed_id, 'unmerge', p_merge_id, jsonb_build_object('from', m.survivor_id, 'records', to_jsonb(m.moved_records), 'by', p_by));
END $$;

-- A steward's split of one record out of the golden record it was matched into (a record a merge brought
-- in is taken out by undoing that merge, people_unmerge): the record becomes a golden record of its own,
-- its links to the records it leaves are removed and remembered as "never link these two records again",
-- and both golden records are survived anew. Returns the new golden record's id.
CREATE OR REPLACE FUNCTION people_split_record(p_person_id bigint, p_record_id bigint, p_by text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  fresh bigint;
  stays bigint[];
BEGIN
  PERFORM 1 FROM person_records WHERE record_id = p_record_id AND person_id = p_person_id FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'record % is not one of person %''s records', p_record_id, p_person_id; END IF;
  SELECT coalesce(array_agg(record_id ORDER BY record_id), '{}') INTO stays
    FROM person_records WHERE person_id = p_person_id AND record_id <> p_record_id;
  IF cardinality(stays) = 0 THEN
    RAISE EXCEPTION 'record % is person %''s only record: there is nothing to split it from', p_record_id, p_person_id;
  END IF;
  INSERT INTO persons DEFAULT VALUES RETURNING person_id INTO fresh;
  UPDATE person_records SET person_id = fresh WHERE record_id = p_record_id;
  DELETE FROM person_links WHERE (record_id = p_record_id AND matched_record_id = ANY (stays))
                              OR (matched_record_id = p_record_id AND record_id = ANY (stays));
  INSERT INTO person_no_links (record_id, other_record_id) SELECT p_record_id, s FROM unnest(stays) AS s ON CONFLICT DO NOTHING;
  INSERT INTO merge_audit (person_id, action, detail)
  VALUES (p_person_id, 'unmerge', jsonb_build_object('split', p_record_id, 'into', fresh, 'by', p_by)),
         (fresh, 'create', jsonb_build_object('records', jsonb_build_array(p_record_id), 'split_from', p_person_id, 'by', p_by));
  PERFORM people_survive(ARRAY[p_person_id, fresh], NULL);
  RETURN fresh;
END $$;

-- A manual override of one golden field (first in survivorship); p_value NULL blanks the field.
CREATE OR REPLACE FUNCTION people_override(p_person_id bigint, p_field text, p_value text, p_by text, p_reason text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO person_overrides (person_id, field, value, set_by, reason) VALUES (p_person_id, p_field, p_value, p_by, p_reason)
  ON CONFLICT (person_id, field) DO UPDATE SET value = excluded.value, set_by = excluded.set_by, reason = excluded.reason, set_at = now();
  INSERT INTO merge_audit (person_id, action, detail)
  VALUES (p_person_id, 'override', jsonb_build_object('field', p_field, 'value', p_value, 'by', p_by, 'reason', p_reason));
  PERFORM people_survive(ARRAY[p_person_id], NULL);
END $$;

-- Upserts standardized source records from one of two places, named by p_rows: 'staging_contacts' (a
-- contacts chunk, p_import_id and p_chunk_index, read straight from staging) or 'json' (p_records, JSON
-- objects with person_records' columns). The two queries are fixed here: no caller's text reaches
-- EXECUTE. A record already known by (source_kind, source_key) changes only for a newer delivery
-- (src_seq) whose content differs, and then waits to be matched again; a replay changes nothing.
-- (The parameter keeps the name it was created with: CREATE OR REPLACE cannot rename a parameter.)
CREATE OR REPLACE FUNCTION people_upsert_rows(p_rows text, p_records jsonb DEFAULT NULL, p_import_id uuid DEFAULT NULL, p_chunk_index int DEFAULT NULL)
RETURNS TABLE (inserted bigint, updated bigint) LANGUAGE plpgsql AS $fn$
DECLARE
  rows_query text := CASE p_rows
    WHEN 'json' THEN 'SELECT * FROM jsonb_populate_recordset(NULL::person_records, coalesce($1, ''[]''))'
    WHEN 'staging_contacts' THEN
      'SELECT s.source_kind, s.row_key AS source_key, s.import_id, s.source_row, s.src_seq, s.first_name, s.middle_name, s.last_name,
              s.name_suffix, s.email, s.phone, s.phone7, s.dob, s.address_line1, s.house_number, s.street_name, s.city, s.state, s.zip5,
              s.zip4, s.ids, NULL::boolean AS phone_verified, NULL::boolean AS email_verified, s.raw
         FROM staging_contacts s WHERE s.import_id = $2 AND s.chunk_index = $3'
  END;
BEGIN
  IF rows_query IS NULL THEN
    RAISE EXCEPTION 'people_upsert_rows: no such source of records: %', p_rows USING ERRCODE = '22023';
  END IF;
  RETURN QUERY EXECUTE format($q$
  WITH incoming AS (
    SELECT DISTINCT ON (x.source_kind, x.source_key) x.*
      FROM (%s) x
     ORDER BY x.source_kind, x.source_key, x.src_seq DESC
  ), upserted AS (
    INSERT INTO person_records AS r (source_kind, source_key, import_id, source_row, src_seq, first_name, middle_name, last_name, name_suffix,
      email, phone, phone7, dob, address_line1, house_number, street_name, city, state, zip5, zip4, ids, phone_verified, email_verified, raw)
    SELECT source_kind, source_key, import_id, source_row, src_seq, first_name, middle_name, last_name, name_suffix,
      email, phone, phone7, dob, address_line1, house_number, street_name, city, state, zip5, zip4, coalesce(ids, '{}'),
      coalesce(phone_verified, false), coalesce(email_verified, false), coalesce(raw, '{}')
      FROM incoming ORDER BY source_kind, source_key
    ON CONFLICT (source_kind, source_key) DO UPDATE SET
      import_id = excluded.import_id, source_row = excluded.source_row, src_seq = excluded.src_seq,
      first_name = excluded.first_name, middle_name = excluded.middle_name, last_name = excluded.last_name, name_suffix = excluded.name_suffix,
      email = excluded.email, phone = excluded.phone, phone7 = excluded.phone7, dob = excluded.dob, address_line1 = excluded.address_line1,
      house_number = excluded.house_number, street_name = excluded.street_name, city = excluded.city, state = excluded.state,
      zip5 = excluded.zip5, zip4 = excluded.zip4, ids = excluded.ids, phone_verified = excluded.phone_verified,
      email_verified = excluded.email_verified, raw = excluded.raw, resolved_at = NULL, updated_at = now()
    WHERE excluded.src_seq > r.src_seq
      AND (r.first_name, r.middle_name, r.last_name, r.name_suffix, r.email, r.phone, r.phone7, r.dob, r.address_line1, r.city, r.state, r.zip5, r.zip4, r.ids)
          IS DISTINCT FROM
          (excluded.first_name, excluded.middle_name, excluded.last_name, excluded.name_suffix, excluded.email, excluded.phone, excluded.phone7,
           excluded.dob, excluded.address_line1, excluded.city, excluded.state, excluded.zip5, excluded.zip4, excluded.ids)
    RETURNING (xmax = 0) AS was_inserted
  )
  SELECT count(*) FILTER (WHERE was_inserted), count(*) FILTER (WHERE NOT was_inserted) FROM upserted$q$, rows_query)
  USING p_records, p_import_id, p_chunk_index;
END $fn$;

-- The same for records given as JSON objects with person_records' columns (the people consumer's feeders).
CREATE OR REPLACE FUNCTION people_upsert_records(p_records jsonb)
RETURNS TABLE (inserted bigint, updated bigint) LANGUAGE sql AS $$
  SELECT * FROM people_upsert_rows('json', p_records);
$$;
