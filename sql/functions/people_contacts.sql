-- Contact lists: the rows a person record cannot come from, and the promotion into person_records.

-- Staged contacts that are not a person: no name at all, or nothing to reach or recognize them by
-- (a record key, such as a legacy primary key, recognizes the record).
CREATE OR REPLACE FUNCTION contacts_refused(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (source_row bigint, field text, value text, reason text) LANGUAGE sql STABLE AS $$
  SELECT s.source_row, 'name', NULL::text, 'a contact needs a name (first name, last name or full name)'
    FROM staging_contacts s
   WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index AND s.first_name IS NULL AND s.last_name IS NULL
  UNION ALL
  SELECT s.source_row, 'contact point', NULL, 'a contact needs an e-mail, phone, address, date of birth or identifier'
    FROM staging_contacts s
   WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index AND (s.first_name IS NOT NULL OR s.last_name IS NOT NULL)
     AND s.email IS NULL AND s.phone IS NULL AND s.phone7 IS NULL AND s.address_line1 IS NULL AND s.zip5 IS NULL
     AND s.dob IS NULL AND s.ids = '{}' AND s.source_key IS NULL
  ORDER BY 1;
$$;

-- A chunk's contacts become person records (people_upsert_rows: a replay changes nothing, a newer
-- delivery of an identified contact updates it and queues it for matching again), read straight from
-- staging: no JSON between the two tables.
CREATE OR REPLACE FUNCTION promote_contacts(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (inserted bigint, updated bigint) LANGUAGE sql AS $$
  SELECT * FROM people_upsert_rows('staging_contacts', NULL, p_import_id, p_chunk_index);
$$;
