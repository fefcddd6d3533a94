-- Up Migration
-- Call-center (IVR) responses: who called, what they keyed, what they said.

CREATE TABLE staging_call_responses (
  import_id            uuid NOT NULL,
  chunk_index          int NOT NULL,
  source_row           bigint NOT NULL,
  src_seq              bigint NOT NULL,
  partner              text NOT NULL,
  caller_phone         text NOT NULL,
  called_at            timestamptz NOT NULL,
  disposition          text NOT NULL,
  keyed_mortgage_id    text,
  keyed_tracking       text,
  lookup_mortgage_id   text,
  lookup_tracking_code text
);
CREATE INDEX staging_call_responses_chunk ON staging_call_responses (import_id, chunk_index);

-- One row per response received (a re-sent file adds nothing). Matched to a mail piece by the
-- keyed tracking code, else to a mortgage by the keyed mortgage id; unmatched ones stay here
-- (match_method NULL) and match when their piece or mortgage arrives.
CREATE TABLE call_responses (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  caller_phone         text NOT NULL CHECK (caller_phone ~ '^\+1[2-9][0-9]{2}[2-9][0-9]{6}$'),
  called_at            timestamptz NOT NULL,
  disposition          text NOT NULL CHECK (disposition IN ('interested', 'callback', 'not_interested', 'do_not_call')),
  -- as the caller keyed them (may be mistyped), and their normalized forms used to match
  keyed_mortgage_id    text,
  keyed_tracking       text,
  lookup_mortgage_id   text,
  lookup_tracking_code text,
  -- the match
  tracking_code        text,
  mortgage_id          text,
  partner              text,
  match_method         text CHECK (match_method IN ('tracking_code', 'mortgage_id')),
  matched_at           timestamptz,
  import_id            uuid NOT NULL,
  source_row           bigint NOT NULL,
  src_seq              bigint NOT NULL,
  received_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE NULLS NOT DISTINCT (caller_phone, called_at, disposition, keyed_mortgage_id, keyed_tracking)
);
CREATE INDEX call_responses_lookup_tracking ON call_responses (lookup_tracking_code);
CREATE INDEX call_responses_lookup_mortgage ON call_responses (lookup_mortgage_id);
CREATE INDEX call_responses_phone ON call_responses (caller_phone);

-- Down Migration
DROP TABLE call_responses;
DROP TABLE staging_call_responses;
