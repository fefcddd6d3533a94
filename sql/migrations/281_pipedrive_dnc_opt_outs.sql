-- Up Migration
-- Do-not-contact from Pipedrive (issue 23): the opt-outs a ticked box created, by their keys, so
-- unticking it withdraws exactly those (an opt-out from any other source, or an earlier one, stays).
-- Rule: packages/core/src/integrations/pipedrive/store.ts applyCrmFields; docs/integrations.md.
ALTER TABLE person_crm_fields ADD COLUMN dnc_opt_outs jsonb;

-- Down Migration
ALTER TABLE person_crm_fields DROP COLUMN dnc_opt_outs;
