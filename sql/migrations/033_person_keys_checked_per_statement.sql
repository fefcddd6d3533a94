-- Up Migration
-- person_keys' reference to person_records, checked once per statement instead of once per row.
-- A resolution inserts a dozen keys per record (2.3 million for 100k people): the foreign key's
-- per-row lookup of the record was half of that insert. The rules stay: a key of a record that
-- does not exist is refused, and deleting records deletes their keys.
ALTER TABLE person_keys DROP CONSTRAINT person_keys_record_id_fkey;

CREATE FUNCTION person_keys_refuse_orphans() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  orphan bigint;
BEGIN
  -- Each record once, and no LIMIT: a LIMIT 1 made the planner probe the records' index once per key.
  SELECT min(k.record_id) INTO orphan FROM (SELECT DISTINCT record_id FROM new_keys) k
   WHERE NOT EXISTS (SELECT 1 FROM person_records r WHERE r.record_id = k.record_id);
  IF orphan IS NOT NULL THEN
    RAISE EXCEPTION 'person_keys: no person record %', orphan USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER person_keys_refuse_orphans AFTER INSERT ON person_keys
  REFERENCING NEW TABLE AS new_keys FOR EACH STATEMENT EXECUTE FUNCTION person_keys_refuse_orphans();
CREATE TRIGGER person_keys_refuse_orphans_update AFTER UPDATE ON person_keys
  REFERENCING NEW TABLE AS new_keys FOR EACH STATEMENT EXECUTE FUNCTION person_keys_refuse_orphans();

CREATE FUNCTION person_records_delete_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM person_keys k USING gone g WHERE k.record_id = g.record_id;
  RETURN NULL;
END $$;
CREATE TRIGGER person_records_delete_keys AFTER DELETE ON person_records
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION person_records_delete_keys();

-- Down Migration
DROP TRIGGER person_records_delete_keys ON person_records;
DROP FUNCTION person_records_delete_keys();
DROP TRIGGER person_keys_refuse_orphans_update ON person_keys;
DROP TRIGGER person_keys_refuse_orphans ON person_keys;
DROP FUNCTION person_keys_refuse_orphans();
ALTER TABLE person_keys ADD FOREIGN KEY (record_id) REFERENCES person_records (record_id) ON DELETE CASCADE;
