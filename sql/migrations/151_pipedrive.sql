-- Up Migration
-- The Pipedrive sync (issue 23): what we last sent and last saw per synced entity, the write
-- retry ledger, and the fields Pipedrive owns on a golden record. Rules: docs/integrations.md.

-- One row per golden record's Pipedrive person and per its lead's deal. A row with remote_id NULL is
-- an intent: written (with its marker) before the POST, so a crash between the POST and its
-- bookkeeping is resolved by looking the marker up in Pipedrive before anything is created again.
-- sent: the fields we own as last sent (field -> value) with their hash; seen: the fields Pipedrive
-- owns as last read, with the record's update_time, so an unchanged or self-made change is skipped.
CREATE TABLE pipedrive_snapshots (
  entity            text NOT NULL CHECK (entity IN ('person', 'deal')),
  person_id         bigint NOT NULL REFERENCES persons (person_id) ON DELETE CASCADE,
  marker            text NOT NULL,
  remote_id         bigint,
  sent              jsonb NOT NULL DEFAULT '{}'::jsonb,
  sent_hash         text,
  seen              jsonb NOT NULL DEFAULT '{}'::jsonb,
  seen_hash         text,
  seen_update_time  timestamptz,
  -- the record was deleted in Pipedrive (found by the full reconciliation): never re-created
  deleted_at        timestamptz,
  synced_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (entity, person_id),
  UNIQUE (entity, marker)
);
CREATE UNIQUE INDEX pipedrive_snapshots_remote ON pipedrive_snapshots (entity, remote_id) WHERE remote_id IS NOT NULL;

-- Writes Pipedrive refused (a 400): kept, and retried by every later run until accepted.
CREATE TABLE pipedrive_retry_ledger (
  entity        text NOT NULL CHECK (entity IN ('person', 'deal')),
  person_id     bigint NOT NULL REFERENCES persons (person_id) ON DELETE CASCADE,
  attempts      integer NOT NULL DEFAULT 1,
  last_status   integer NOT NULL,
  last_error    text NOT NULL,
  payload       jsonb NOT NULL,
  first_failed  timestamptz NOT NULL DEFAULT now(),
  last_failed   timestamptz NOT NULL DEFAULT now(),
  resolved_at   timestamptz,
  PRIMARY KEY (entity, person_id)
);

-- The fields of a golden record the CRM owns (deal stage and status, owner, do-not-contact, notes),
-- as the last sync read them. A do-not-contact also lands in opt_outs (origin 'pipedrive').
CREATE TABLE person_crm_fields (
  person_id       bigint PRIMARY KEY REFERENCES persons (person_id) ON DELETE CASCADE,
  system          text NOT NULL DEFAULT 'pipedrive',
  owner_id        bigint,
  deal_stage_id   bigint,
  deal_status     text,
  deal_owner_id   bigint,
  do_not_contact  boolean NOT NULL DEFAULT false,
  notes           text,
  deleted_in_crm  boolean NOT NULL DEFAULT false,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE person_crm_fields;
DROP TABLE pipedrive_retry_ledger;
DROP TABLE pipedrive_snapshots;
