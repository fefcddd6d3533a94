-- Up Migration
-- Delivery confirmations from the partners' feeds (one feed per partner, each in its own layout).

-- Staging: every partner's delivery rows in one table, typed after validation.
CREATE TABLE staging_deliveries (
  import_id      uuid NOT NULL,
  chunk_index    int NOT NULL,
  source_row     bigint NOT NULL,
  src_seq        bigint NOT NULL,
  partner        text NOT NULL,
  tracking_code  text NOT NULL,
  routing_code   text,
  imb_raw        text,
  event_at       timestamptz NOT NULL,
  event_code     text NOT NULL
);
CREATE INDEX staging_deliveries_chunk ON staging_deliveries (import_id, chunk_index);

-- The ledger: every delivery event received, once (a re-sent or overlapping file adds nothing).
-- 'pending' until its mail piece is known; then 'applied' (the piece is the feed partner's) or
-- 'rejected' (another partner's piece: reason says why, the piece is never touched). Never deleted.
CREATE TABLE delivery_events (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tracking_code  text NOT NULL CHECK (tracking_code ~ '^[0-9]{20}$'),
  partner        text NOT NULL,
  event_at       timestamptz NOT NULL,
  event_code     text NOT NULL,
  routing_code   text,
  imb_raw        text,
  status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'applied', 'rejected')),
  reason         text,
  import_id      uuid NOT NULL,
  source_row     bigint NOT NULL,
  src_seq        bigint NOT NULL,
  received_at    timestamptz NOT NULL DEFAULT now(),
  resolved_at    timestamptz,
  UNIQUE (tracking_code, partner, event_at, event_code)
);
CREATE INDEX delivery_events_pending ON delivery_events (tracking_code) WHERE status = 'pending';
CREATE INDEX delivery_events_import ON delivery_events (import_id);

-- The first delivery of each mail piece: its earliest applied event (ties: the lowest event code).
CREATE TABLE mail_piece_deliveries (
  tracking_code  text PRIMARY KEY REFERENCES mail_pieces (tracking_code) ON DELETE CASCADE,
  partner        text NOT NULL,
  delivered_at   timestamptz NOT NULL,
  event_code     text NOT NULL,
  event_id       bigint NOT NULL REFERENCES delivery_events (id),
  import_id      uuid NOT NULL,
  source_row     bigint NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE mail_piece_deliveries;
DROP TABLE delivery_events;
DROP TABLE staging_deliveries;
