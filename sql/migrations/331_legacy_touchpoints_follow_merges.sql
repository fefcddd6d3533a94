-- Up Migration
-- rule 3 of sql/functions/legacy_migration.sql: a legacy touchpoint's person_id is its person record's
-- golden record. legacy_touchpoints_follow_people() sets it after a migration run (records resolved for
-- the first time); this trigger keeps it right when a resolved legacy record moves later: a merge (the
-- people consumer's resolution or a steward's, people_merge), an unmerge (people_unmerge) or a split
-- (people_split_record), whichever code moves it. Only the moved records' touchpoints are touched (by
-- touchpoints_person_record); a record's first resolution (person_id NULL before) and every record of
-- another source skip the trigger in its WHEN, so resolving people costs nothing more.
CREATE FUNCTION legacy_touchpoints_follow_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE touchpoints SET person_id = NEW.person_id
   WHERE person_record_id = NEW.record_id AND person_id IS DISTINCT FROM NEW.person_id;
  RETURN NULL;
END $$;

CREATE TRIGGER person_records_legacy_touchpoints AFTER UPDATE OF person_id ON person_records
  FOR EACH ROW
  WHEN (OLD.person_id IS NOT NULL AND OLD.person_id IS DISTINCT FROM NEW.person_id AND NEW.source_kind = 'legacy-contacts')
  EXECUTE FUNCTION legacy_touchpoints_follow_record();

-- Down Migration
DROP TRIGGER person_records_legacy_touchpoints ON person_records;
DROP FUNCTION legacy_touchpoints_follow_record();
