-- Up Migration
-- person_records' reference to persons, checked once per statement instead of once per row (as migrations 033 and 310
-- did for person_keys and person_links). Each batch of a resolution sets the golden record of every record it resolves
-- in one UPDATE, and the foreign key's per-row lookup (with its row lock on the golden record) was about a sixth of
-- that update (101 ms of 607 for 10,000 records, auto_explain). The rules stay: a record naming a golden record that
-- does not exist is refused (SQLSTATE 23503), and a golden record that records name cannot be deleted, nor its id
-- changed. As with 033 and 310, the check does not lock the golden record: people's writes are serialized by the
-- people lock (PEOPLE_LOCK), resolutions and steward actions alike. `TRUNCATE persons` is no longer refused while
-- records name it (TRUNCATE fires no row or statement DELETE triggers).
ALTER TABLE person_records DROP CONSTRAINT person_records_person_id_fkey;

CREATE FUNCTION person_records_refuse_orphans() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  orphan bigint;
BEGIN
  -- Each golden record once, probed by primary key.
  SELECT min(k.person_id) INTO orphan
    FROM (SELECT DISTINCT person_id FROM new_records WHERE person_id IS NOT NULL) k
   WHERE NOT EXISTS (SELECT 1 FROM persons p WHERE p.person_id = k.person_id);
  IF orphan IS NOT NULL THEN
    RAISE EXCEPTION 'person_records: no golden record %', orphan USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER person_records_refuse_orphans AFTER INSERT ON person_records
  REFERENCING NEW TABLE AS new_records FOR EACH STATEMENT EXECUTE FUNCTION person_records_refuse_orphans();
CREATE TRIGGER person_records_refuse_orphans_update AFTER UPDATE ON person_records
  REFERENCING NEW TABLE AS new_records FOR EACH STATEMENT EXECUTE FUNCTION person_records_refuse_orphans();

CREATE FUNCTION persons_refuse_orphaning() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  named bigint;
BEGIN
  SELECT min(g.person_id) INTO named FROM gone g
   WHERE EXISTS (SELECT 1 FROM person_records r WHERE r.person_id = g.person_id);
  IF named IS NOT NULL THEN
    RAISE EXCEPTION 'persons: golden record % still has person records', named USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER persons_refuse_orphaning AFTER DELETE ON persons
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION persons_refuse_orphaning();
-- A golden record's id never changes; the rare statement that sets it is checked row by row (no transition table that
-- every update of persons would fill).
CREATE FUNCTION persons_refuse_renumbering() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM person_records r WHERE r.person_id = OLD.person_id) THEN
    RAISE EXCEPTION 'persons: golden record % still has person records', OLD.person_id USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER persons_refuse_renumbering AFTER UPDATE OF person_id ON persons
  FOR EACH ROW WHEN (OLD.person_id IS DISTINCT FROM NEW.person_id) EXECUTE FUNCTION persons_refuse_renumbering();

-- Down Migration
DROP TRIGGER persons_refuse_renumbering ON persons;
DROP FUNCTION persons_refuse_renumbering();
DROP TRIGGER persons_refuse_orphaning ON persons;
DROP FUNCTION persons_refuse_orphaning();
DROP TRIGGER person_records_refuse_orphans_update ON person_records;
DROP TRIGGER person_records_refuse_orphans ON person_records;
DROP FUNCTION person_records_refuse_orphans();
ALTER TABLE person_records ADD FOREIGN KEY (person_id) REFERENCES persons (person_id);
