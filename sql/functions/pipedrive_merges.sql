-- Golden record merges and their link to Pipedrive (issue 23). A merge deletes the absorbed golden
-- record, and with it (ON DELETE CASCADE) what linked it to Pipedrive; these triggers on
-- person_merges decide what follows the merge first.
-- Rules:
--   1. When golden record A is merged into B and B has no Pipedrive link of its own (no snapshot,
--      no CRM fields), A's become B's: its person and deal snapshots, its CRM fields (owner, deal
--      stage, do-not-contact and the opt-outs it made, notes) and its retry-ledger rows. The next
--      sync then updates those Pipedrive records as B's, instead of leaving them behind and creating
--      B's anew (two Pipedrive persons for one golden record).
--   2. When B has its own, B's stay and A's go with A. A's Pipedrive person and deal are left in
--      Pipedrive as they were, and the audit log says which (console_audit, user sync:pipedrive,
--      action 'merge left a CRM record', target B), for someone to merge them in Pipedrive.
--   3. Undoing a merge gives A back exactly what rule 1 moved (pipedrive_merge_moves).

CREATE OR REPLACE FUNCTION pipedrive_follow_merge() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  left_behind jsonb;
BEGIN
  -- most merges are of records never synced: two index probes and out
  IF NOT EXISTS (SELECT 1 FROM pipedrive_snapshots WHERE entity IN ('person', 'deal') AND person_id = NEW.absorbed_id)
     AND NOT EXISTS (SELECT 1 FROM person_crm_fields WHERE person_id = NEW.absorbed_id) THEN
    RETURN NULL;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pipedrive_snapshots WHERE entity IN ('person', 'deal') AND person_id = NEW.survivor_id)
     AND NOT EXISTS (SELECT 1 FROM person_crm_fields WHERE person_id = NEW.survivor_id) THEN
    -- rule 1
    UPDATE pipedrive_snapshots SET person_id = NEW.survivor_id
     WHERE entity IN ('person', 'deal') AND person_id = NEW.absorbed_id;
    UPDATE pipedrive_retry_ledger SET person_id = NEW.survivor_id
     WHERE entity IN ('person', 'deal') AND person_id = NEW.absorbed_id;
    UPDATE person_crm_fields SET person_id = NEW.survivor_id WHERE person_id = NEW.absorbed_id;
    INSERT INTO pipedrive_merge_moves (merge_id) VALUES (NEW.merge_id);
  ELSE
    -- rule 2
    SELECT jsonb_agg(jsonb_build_object('entity', entity, 'remote_id', remote_id) ORDER BY entity) INTO left_behind
      FROM pipedrive_snapshots
     WHERE entity IN ('person', 'deal') AND person_id = NEW.absorbed_id AND remote_id IS NOT NULL AND deleted_at IS NULL;
    INSERT INTO console_audit (username, role, action, target, outcome, detail)
    VALUES ('sync:pipedrive', 'integration', 'merge left a CRM record', NEW.survivor_id::text, 'ok',
            jsonb_build_object('merge_id', NEW.merge_id, 'absorbed', NEW.absorbed_id,
                               'pipedrive', coalesce(left_behind, '[]'::jsonb)));
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION pipedrive_follow_unmerge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- rule 3 (people_unmerge has put A back in persons before it marks the merge undone)
  DELETE FROM pipedrive_merge_moves WHERE merge_id = NEW.merge_id;
  IF NOT FOUND THEN RETURN NULL; END IF;
  UPDATE pipedrive_snapshots SET person_id = NEW.absorbed_id
   WHERE entity IN ('person', 'deal') AND person_id = NEW.survivor_id;
  UPDATE pipedrive_retry_ledger SET person_id = NEW.absorbed_id
   WHERE entity IN ('person', 'deal') AND person_id = NEW.survivor_id;
  UPDATE person_crm_fields SET person_id = NEW.absorbed_id WHERE person_id = NEW.survivor_id;
  RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER person_merges_pipedrive_merge AFTER INSERT ON person_merges
  FOR EACH ROW EXECUTE FUNCTION pipedrive_follow_merge();
CREATE OR REPLACE TRIGGER person_merges_pipedrive_unmerge AFTER UPDATE OF unmerged_at ON person_merges
  FOR EACH ROW WHEN (OLD.unmerged_at IS NULL AND NEW.unmerged_at IS NOT NULL)
  EXECUTE FUNCTION pipedrive_follow_unmerge();
