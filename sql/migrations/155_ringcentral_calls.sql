-- Up Migration
-- RingCentral call-log records (issue 23), landed as an import of the source ringcentral-calls:
-- staged like every import, then each record kept once by its RingCentral id (ringcentral_calls,
-- the latest version by lastModifiedTime wins), inbound calls as call-center responses and
-- outbound calls as call touchpoints. The rules are sql/functions/ringcentral_calls.sql.

CREATE TABLE staging_ringcentral_calls (
  import_id      uuid NOT NULL,
  chunk_index    int NOT NULL,
  source_row     bigint NOT NULL,
  src_seq        bigint NOT NULL,
  partner        text NOT NULL,
  record_id      text NOT NULL,
  session_id     text,
  start_time     timestamptz NOT NULL,
  last_modified  timestamptz NOT NULL,
  direction      text NOT NULL,
  from_phone     text,
  to_phone       text,
  result         text,
  duration_s     int,
  deleted        boolean NOT NULL
);
CREATE INDEX staging_ringcentral_calls_chunk ON staging_ringcentral_calls (import_id, chunk_index);

-- One row per RingCentral call-log record ever landed: a record read twice (an overlapping window,
-- a full sync after an invalid token) lands once; a newer version (lastModifiedTime) replaces it.
CREATE TABLE ringcentral_calls (
  record_id        text PRIMARY KEY,
  session_id       text,
  start_time       timestamptz NOT NULL,
  last_modified    timestamptz NOT NULL,
  direction        text NOT NULL CHECK (direction IN ('Inbound', 'Outbound')),
  from_phone       text,
  to_phone         text,
  result           text,
  duration_s       int,
  deleted          boolean NOT NULL DEFAULT false,
  -- what it became: the response (inbound) or the touchpoint's person (outbound)
  call_response_id bigint REFERENCES call_responses (id) ON DELETE SET NULL,
  person_id        bigint,
  import_id        uuid NOT NULL,
  source_row       bigint NOT NULL,
  src_seq          bigint NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ringcentral_calls_start ON ringcentral_calls (start_time);

-- A call logged by the phone system carries no IVR disposition: 'logged'. Its RingCentral id keeps
-- it one response however often it is read; the IVR's uniqueness is unchanged (its id is NULL).
ALTER TABLE call_responses ADD COLUMN ringcentral_id text;
DO $$
DECLARE v_name text;
BEGIN
  SELECT conname INTO STRICT v_name FROM pg_constraint
   WHERE conrelid = 'call_responses'::regclass AND contype = 'u';
  EXECUTE format('ALTER TABLE call_responses DROP CONSTRAINT %I', v_name);
END $$;
ALTER TABLE call_responses ADD CONSTRAINT call_responses_one_response
  UNIQUE NULLS NOT DISTINCT (caller_phone, called_at, disposition, keyed_mortgage_id, keyed_tracking, ringcentral_id);
CREATE UNIQUE INDEX call_responses_ringcentral_id ON call_responses (ringcentral_id) WHERE ringcentral_id IS NOT NULL;
ALTER TABLE call_responses DROP CONSTRAINT call_responses_disposition_check;
ALTER TABLE call_responses ADD CONSTRAINT call_responses_disposition_check
  CHECK (disposition IN ('interested', 'callback', 'not_interested', 'do_not_call', 'logged'));

-- A caller's mortgage by the phone it was closed with (any punctuation): the ten national digits.
CREATE INDEX mortgages_phone10 ON mortgages (right(regexp_replace(phone, '\D', '', 'g'), 10)) WHERE phone IS NOT NULL;

-- Down Migration
DROP INDEX mortgages_phone10;
DELETE FROM call_responses WHERE ringcentral_id IS NOT NULL;
ALTER TABLE call_responses DROP CONSTRAINT call_responses_disposition_check;
ALTER TABLE call_responses ADD CONSTRAINT call_responses_disposition_check
  CHECK (disposition IN ('interested', 'callback', 'not_interested', 'do_not_call'));
DROP INDEX call_responses_ringcentral_id;
ALTER TABLE call_responses DROP CONSTRAINT call_responses_one_response;
ALTER TABLE call_responses DROP COLUMN ringcentral_id;
ALTER TABLE call_responses ADD UNIQUE NULLS NOT DISTINCT (caller_phone, called_at, disposition, keyed_mortgage_id, keyed_tracking);
DROP TABLE ringcentral_calls;
DROP TABLE staging_ringcentral_calls;
