-- Up Migration
-- People: golden records (persons), the source records behind them with lineage, the links
-- that joined them (score, reason), contact points, manual overrides, merges (reversible) and
-- an audit of every change. Rules live in sql/functions/people.sql.

CREATE TABLE persons (
  person_id       bigserial PRIMARY KEY,
  first_name      text,
  middle_name     text,
  last_name       text,
  name_suffix     text,
  email           text,
  phone           text,
  dob             date,
  address_line1   text,
  city            text,
  state           text,
  zip5            text,
  zip4            text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One row per source row that describes a person (a contact list row, a mortgage's borrower, a
-- caller), standardized, with its raw values and lineage. (source_kind, source_key) is the
-- row's identity across re-sends: a newer delivery updates it (src_seq), a replay changes nothing.
CREATE TABLE person_records (
  record_id       bigserial PRIMARY KEY,
  source_kind     text NOT NULL,
  source_key      text NOT NULL,
  import_id       uuid NOT NULL,
  source_row      bigint NOT NULL,
  src_seq         bigint NOT NULL,
  person_id       bigint REFERENCES persons (person_id),
  resolved_at     timestamptz,
  first_name      text,
  middle_name     text,
  last_name       text,
  name_suffix     text,
  email           text,
  phone           text,
  phone7          text,
  dob             date,
  address_line1   text,
  house_number    text,
  street_name     text,
  city            text,
  state           text,
  zip5            text,
  zip4            text,
  ids             text[] NOT NULL DEFAULT '{}',
  phone_verified  boolean NOT NULL DEFAULT false,
  email_verified  boolean NOT NULL DEFAULT false,
  raw             jsonb NOT NULL DEFAULT '{}',
  completeness    int GENERATED ALWAYS AS (
    (first_name IS NOT NULL)::int + (last_name IS NOT NULL)::int + (middle_name IS NOT NULL)::int + (email IS NOT NULL)::int +
    (phone IS NOT NULL)::int + (dob IS NOT NULL)::int + (address_line1 IS NOT NULL)::int + (zip5 IS NOT NULL)::int) STORED,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (source_kind, source_key)
);
CREATE INDEX person_records_person ON person_records (person_id);
CREATE INDEX person_records_import ON person_records (import_id) WHERE resolved_at IS NULL;

-- Blocking keys of resolved records (see packages/core/src/people/match.ts, blockKeys).
CREATE TABLE person_keys (
  key             text NOT NULL,
  record_id       bigint NOT NULL REFERENCES person_records (record_id) ON DELETE CASCADE,
  PRIMARY KEY (key, record_id)
);

-- Why two records are one person: the rule that held, its score and reason.
CREATE TABLE person_links (
  record_id         bigint NOT NULL REFERENCES person_records (record_id) ON DELETE CASCADE,
  matched_record_id bigint NOT NULL REFERENCES person_records (record_id) ON DELETE CASCADE,
  score             numeric(4,3) NOT NULL,
  tier              text NOT NULL CHECK (tier IN ('exact', 'strong', 'fuzzy', 'manual')),
  reason            text NOT NULL,
  import_id         uuid,
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (record_id, matched_record_id)
);
CREATE INDEX person_links_matched ON person_links (matched_record_id);

-- Pairs an operator split: never linked again.
CREATE TABLE person_no_links (
  record_id         bigint NOT NULL,
  other_record_id   bigint NOT NULL,
  merge_id          bigint,
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (record_id, other_record_id)
);

-- Contact points of each golden record, from its records (rebuilt by people_survive).
CREATE TABLE person_phones (
  person_id   bigint NOT NULL REFERENCES persons (person_id) ON DELETE CASCADE,
  phone       text NOT NULL,
  verified    boolean NOT NULL,
  record_id   bigint NOT NULL,
  raw         text,
  last_seq    bigint NOT NULL,
  PRIMARY KEY (person_id, phone)
);
CREATE INDEX person_phones_phone ON person_phones (phone);
CREATE TABLE person_emails (
  person_id   bigint NOT NULL REFERENCES persons (person_id) ON DELETE CASCADE,
  email       text NOT NULL,
  verified    boolean NOT NULL,
  record_id   bigint NOT NULL,
  raw         text,
  last_seq    bigint NOT NULL,
  PRIMARY KEY (person_id, email)
);
CREATE INDEX person_emails_email ON person_emails (email);
CREATE TABLE person_addresses (
  person_id     bigint NOT NULL REFERENCES persons (person_id) ON DELETE CASCADE,
  address_line1 text NOT NULL,
  city          text,
  state         text,
  zip5          text NOT NULL DEFAULT '',
  zip4          text,
  record_id     bigint NOT NULL,
  last_seq      bigint NOT NULL,
  PRIMARY KEY (person_id, address_line1, zip5)
);

-- Manual overrides win over every source (first in survivorship).
CREATE TABLE person_overrides (
  person_id   bigint NOT NULL REFERENCES persons (person_id) ON DELETE CASCADE,
  field       text NOT NULL CHECK (field IN ('first_name', 'middle_name', 'last_name', 'name_suffix', 'email', 'phone', 'dob', 'address_line1', 'city', 'state', 'zip5', 'zip4')),
  value       text,
  set_by      text NOT NULL,
  reason      text,
  set_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (person_id, field)
);

-- Every merge of two golden records, with what it takes to undo it exactly.
CREATE TABLE person_merges (
  merge_id        bigserial PRIMARY KEY,
  survivor_id     bigint NOT NULL,
  absorbed_id     bigint NOT NULL,
  absorbed        jsonb NOT NULL,
  absorbed_overrides jsonb NOT NULL DEFAULT '[]',
  moved_records   bigint[] NOT NULL,
  links           jsonb NOT NULL DEFAULT '[]',
  cause           text NOT NULL,
  import_id       uuid,
  merged_at       timestamptz NOT NULL DEFAULT now(),
  unmerged_at     timestamptz,
  unmerged_by     text
);

-- The audit log: creations, attachments, merges, unmerges, overrides, and which field came from where.
CREATE TABLE merge_audit (
  audit_id    bigserial PRIMARY KEY,
  person_id   bigint NOT NULL,
  action      text NOT NULL CHECK (action IN ('create', 'attach', 'merge', 'unmerge', 'override', 'survive')),
  merge_id    bigint,
  import_id   uuid,
  detail      jsonb NOT NULL DEFAULT '{}',
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX merge_audit_person ON merge_audit (person_id);

-- One row per import whose people were resolved: the counts, and the proof a replay is a no-op.
CREATE TABLE people_resolutions (
  import_id   uuid PRIMARY KEY,
  records     int NOT NULL,
  created     int NOT NULL,
  attached    int NOT NULL,
  merged      int NOT NULL,
  links       int NOT NULL,
  duration_ms int NOT NULL,
  resolved_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE people_resolutions, merge_audit, person_merges, person_overrides, person_addresses, person_emails, person_phones,
  person_no_links, person_links, person_keys, person_records, persons;
