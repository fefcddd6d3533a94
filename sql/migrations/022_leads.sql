-- Up Migration
-- Leads: an interested caller matched to a mail piece, one per person (phone) and piece.
CREATE TABLE leads (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  caller_phone       text NOT NULL,
  tracking_code      text NOT NULL REFERENCES mail_pieces (tracking_code),
  mortgage_id        text,
  partner            text NOT NULL,
  -- the earliest interested call for this person and piece
  interested_at      timestamptz NOT NULL,
  first_response_id  bigint NOT NULL REFERENCES call_responses (id),
  created_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (caller_phone, tracking_code)
);
CREATE INDEX leads_created_at ON leads (created_at);

-- One hand-off file per day to the insurance agency (outbox/leads/YYYY-MM-DD/...).
CREATE TABLE lead_handoffs (
  day            date PRIMARY KEY,
  file_key       text NOT NULL,
  handed_off_at  timestamptz NOT NULL,
  leads          int NOT NULL,
  sha256         text NOT NULL
);

-- The audit: one row per lead handed off, ever (the primary key makes a second hand-off impossible),
-- with the exact cells written, so a re-run of the day writes the same bytes.
CREATE TABLE lead_handoff_items (
  lead_id        bigint PRIMARY KEY REFERENCES leads (id),
  day            date NOT NULL REFERENCES lead_handoffs (day),
  file_key       text NOT NULL,
  handed_off_at  timestamptz NOT NULL,
  cells          jsonb NOT NULL
);
CREATE INDEX lead_handoff_items_day ON lead_handoff_items (day);

-- Down Migration
DROP TABLE lead_handoff_items;
DROP TABLE lead_handoffs;
DROP TABLE leads;
