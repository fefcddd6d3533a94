-- Up Migration
-- Shared contracts between the partner feeds (mortgages, barcode map, deliveries, call center)
-- and compliance. Later migrations extend these tables; they do not redefine them.

-- One mail piece per 20-digit IMb tracking code: the key that joins mortgages, deliveries and
-- call-center responses. The partner that mailed it owns it; only that partner's feeds change it.
CREATE TABLE mail_pieces (
  tracking_code   text PRIMARY KEY CHECK (tracking_code ~ '^[0-9]{20}$'),
  partner         text NOT NULL,
  mortgage_id     text,
  routing_code    text CHECK (routing_code ~ '^([0-9]{5}|[0-9]{9}|[0-9]{11})$'),
  imb_raw         text,
  import_id       uuid NOT NULL,
  source_row      bigint NOT NULL,
  src_seq         bigint NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_pieces_mortgage ON mail_pieces (mortgage_id);
CREATE INDEX mail_pieces_partner ON mail_pieces (partner);

-- Opt-outs from every path (the internal opt-out list, do-not-call requests made to the call
-- center, unsubscribes): value is an E.164 phone or a lower-cased e-mail. A re-sent or replayed
-- row is the same opt-out (unique on channel, value, time and where it came from).
CREATE TABLE opt_outs (
  channel         text NOT NULL CHECK (channel IN ('mail', 'call', 'email', 'sms')),
  value           text NOT NULL,
  opted_out_at    timestamptz NOT NULL,
  reason          text,
  origin          text NOT NULL,
  import_id       uuid,
  source_row      bigint,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, value, opted_out_at, origin)
);
CREATE INDEX opt_outs_value ON opt_outs (value);

-- Down Migration
DROP TABLE opt_outs;
DROP TABLE mail_pieces;
