-- Up Migration
-- person_links' two references to person_records, checked once per statement instead of twice per link (as
-- migration 033 did for person_keys). A resolution inserts about 1.3 links per record it resolves, and each link's
-- two foreign-key lookups were most of that insert. The rules stay: a link that names a record that does not exist
-- is refused (SQLSTATE 23503), and deleting records deletes the links that name them, from either side.
ALTER TABLE person_links DROP CONSTRAINT person_links_record_id_fkey;
ALTER TABLE person_links DROP CONSTRAINT person_links_matched_record_id_fkey;

CREATE FUNCTION person_links_refuse_orphans() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  orphan bigint;
BEGIN
  -- Each record once (a set of both columns), probed by primary key.
  SELECT min(k.record_id) INTO orphan
    FROM (SELECT record_id FROM new_links UNION SELECT matched_record_id FROM new_links) k
   WHERE NOT EXISTS (SELECT 1 FROM person_records r WHERE r.record_id = k.record_id);
  IF orphan IS NOT NULL THEN
    RAISE EXCEPTION 'person_links: no person record %', orphan USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER person_links_refuse_orphans AFTER INSERT ON person_links
  REFERENCING NEW TABLE AS new_links FOR EACH STATEMENT EXECUTE FUNCTION person_links_refuse_orphans();
CREATE TRIGGER person_links_refuse_orphans_update AFTER UPDATE ON person_links
  REFERENCING NEW TABLE AS new_links FOR EACH STATEMENT EXECUTE FUNCTION person_links_refuse_orphans();

CREATE FUNCTION person_records_delete_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM person_links l USING gone g WHERE l.record_id = g.record_id;
  DELETE FROM person_links l USING gone g WHERE l.matched_record_id = g.record_id;
  RETURN NULL;
END $$;
CREATE TRIGGER person_records_delete_links AFTER DELETE ON person_records
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION person_records_delete_links();

-- Down Migration
DROP TRIGGER person_records_delete_links ON person_records;
DROP FUNCTION person_records_delete_links();
DROP TRIGGER person_links_refuse_orphans_update ON person_links;
DROP TRIGGER person_links_refuse_orphans ON person_links;
DROP FUNCTION person_links_refuse_orphans();
ALTER TABLE person_links ADD FOREIGN KEY (matched_record_id) REFERENCES person_records (record_id) ON DELETE CASCADE;
ALTER TABLE person_links ADD FOREIGN KEY (record_id) REFERENCES person_records (record_id) ON DELETE CASCADE;
