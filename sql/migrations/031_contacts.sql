-- Up Migration
-- Contact lists (sources/contacts.ts): each accepted row staged already standardized, in
-- person_records' columns, then upserted into person_records by promote_contacts (functions/contacts.sql).
CREATE TABLE staging_contacts (
  import_id     uuid NOT NULL,
  chunk_index   int NOT NULL,
  source_row    bigint NOT NULL,
  src_seq       bigint NOT NULL,
  partner       text NOT NULL,
  source_kind   text NOT NULL,
  -- The contact's identifier when the source declares one; else the row is its own identity.
  source_key    text,
  row_key       text GENERATED ALWAYS AS (coalesce(source_key, 'row:' || src_seq)) STORED,
  first_name    text,
  middle_name   text,
  last_name     text,
  name_suffix   text,
  email         text,
  phone         text,
  phone7        text,
  dob           date,
  address_line1 text,
  house_number  text,
  street_name   text,
  city          text,
  state         text,
  zip5          text,
  zip4          text,
  ids           text[] NOT NULL DEFAULT '{}',
  raw           jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX staging_contacts_chunk ON staging_contacts (import_id, chunk_index);

-- Down Migration
DROP TABLE staging_contacts;
