-- Up Migration
-- Compliance and audience feeds: customers, bookings, consent events, suppressions, the national
-- do-not-call registry and the internal opt-out list (into opt_outs, migration 004).
-- Every staging table carries the pipeline's lineage columns (import_id, chunk_index,
-- source_row, src_seq, partner); src_seq orders deliveries (newest wins whatever the order
-- chunks or files run in).

CREATE TABLE staging_customers (
  import_id     uuid NOT NULL,
  chunk_index   int NOT NULL,
  source_row    bigint NOT NULL,
  src_seq       bigint NOT NULL,
  partner       text NOT NULL,
  customer_id   text NOT NULL,
  email         text,
  phone         text,
  home_state    text,
  loyalty_tier  text,
  is_active     boolean NOT NULL,
  updated_at    timestamptz NOT NULL
);
CREATE INDEX staging_customers_chunk ON staging_customers (import_id, chunk_index);

-- Every snapshot of a customer is kept; the latest (customers_latest view) is the customer.
-- One snapshot per customer and updated_at: the same snapshot delivered again is the same row;
-- two different rows for the same customer and updated_at resolve to the later delivery.
CREATE TABLE customer_snapshots (
  customer_id   text NOT NULL,
  updated_at    timestamptz NOT NULL,
  email         text,
  phone         text,
  home_state    text,
  loyalty_tier  text,
  is_active     boolean NOT NULL,
  import_id     uuid NOT NULL,
  source_row    bigint NOT NULL,
  src_seq       bigint NOT NULL,
  PRIMARY KEY (customer_id, updated_at)
);

CREATE TABLE staging_bookings (
  import_id      uuid NOT NULL,
  chunk_index    int NOT NULL,
  source_row     bigint NOT NULL,
  src_seq        bigint NOT NULL,
  partner        text NOT NULL,
  booking_id     text NOT NULL,
  customer_id    text NOT NULL,
  booking_date   date NOT NULL,
  booking_amount numeric(14,2) NOT NULL,
  booking_status text NOT NULL,
  product_name   text,
  source_system  text
);
CREATE INDEX staging_bookings_chunk ON staging_bookings (import_id, chunk_index);

CREATE TABLE bookings (
  booking_id     text PRIMARY KEY,
  customer_id    text NOT NULL,
  booking_date   date NOT NULL,
  booking_amount numeric(14,2) NOT NULL,
  booking_status text NOT NULL,
  product_name   text,
  source_system  text,
  import_id      uuid NOT NULL,
  source_row     bigint NOT NULL,
  src_seq        bigint NOT NULL
);
CREATE INDEX bookings_customer_date ON bookings (customer_id, booking_date);

CREATE TABLE staging_consent_events (
  import_id      uuid NOT NULL,
  chunk_index    int NOT NULL,
  source_row     bigint NOT NULL,
  src_seq        bigint NOT NULL,
  partner        text NOT NULL,
  customer_id    text NOT NULL,
  channel        text NOT NULL,
  consent_status text NOT NULL,
  event_ts       timestamptz NOT NULL
);
CREATE INDEX staging_consent_events_chunk ON staging_consent_events (import_id, chunk_index);

-- The consent log: every event kept; consent_latest says which one is in force.
CREATE TABLE consent_events (
  customer_id    text NOT NULL,
  channel        text NOT NULL CHECK (channel IN ('mail', 'call', 'email', 'sms')),
  event_ts       timestamptz NOT NULL,
  consent_status text NOT NULL CHECK (consent_status IN ('OPT_IN', 'OPT_OUT')),
  import_id      uuid NOT NULL,
  source_row     bigint NOT NULL,
  src_seq        bigint NOT NULL,
  PRIMARY KEY (customer_id, channel, event_ts, consent_status)
);

CREATE TABLE staging_suppressions (
  import_id      uuid NOT NULL,
  chunk_index    int NOT NULL,
  source_row     bigint NOT NULL,
  src_seq        bigint NOT NULL,
  partner        text NOT NULL,
  customer_id    text NOT NULL,
  reason         text NOT NULL,
  suppressed_at  timestamptz NOT NULL,
  expires_at     timestamptz
);
CREATE INDEX staging_suppressions_chunk ON staging_suppressions (import_id, chunk_index);

-- One suppression per customer, reason and start; a later delivery may change its expiry.
CREATE TABLE suppressions (
  customer_id    text NOT NULL,
  reason         text NOT NULL,
  suppressed_at  timestamptz NOT NULL,
  expires_at     timestamptz,
  import_id      uuid NOT NULL,
  source_row     bigint NOT NULL,
  src_seq        bigint NOT NULL,
  PRIMARY KEY (customer_id, reason, suppressed_at),
  CHECK (expires_at IS NULL OR expires_at > suppressed_at)
);

CREATE TABLE staging_dnc_numbers (
  import_id      uuid NOT NULL,
  chunk_index    int NOT NULL,
  source_row     bigint NOT NULL,
  src_seq        bigint NOT NULL,
  partner        text NOT NULL,
  phone          bigint NOT NULL,
  action         text NOT NULL CHECK (action IN ('full', 'add', 'remove'))
);
CREATE INDEX staging_dnc_numbers_chunk ON staging_dnc_numbers (import_id, chunk_index);

-- The national do-not-call registry, one row per 10-digit number ever listed. A removal keeps
-- the row with listed = false (a tombstone), so a change file applied out of order cannot
-- resurrect a number: the newest delivery (src_seq) decides.
CREATE TABLE dnc_numbers (
  phone          bigint PRIMARY KEY CHECK (phone BETWEEN 2000000000 AND 9999999999),
  listed         boolean NOT NULL,
  import_id      uuid NOT NULL,
  source_row     bigint,
  src_seq        bigint NOT NULL
);
-- The full-file replacement works per area code.
CREATE INDEX dnc_numbers_area_code ON dnc_numbers ((phone / 10000000));

-- The full files applied, per area code: a change older than an area code's latest full file
-- cannot list a number that file left out, whatever order the files were processed in.
CREATE TABLE dnc_full_files (
  area_code      int NOT NULL,
  import_id      uuid NOT NULL,
  base_seq       bigint NOT NULL,
  applied_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (area_code, import_id)
);

CREATE TABLE staging_opt_outs (
  import_id      uuid NOT NULL,
  chunk_index    int NOT NULL,
  source_row     bigint NOT NULL,
  src_seq        bigint NOT NULL,
  partner        text NOT NULL,
  channel        text NOT NULL,
  value          text NOT NULL,
  opted_out_at   timestamptz NOT NULL,
  reason         text
);
CREATE INDEX staging_opt_outs_chunk ON staging_opt_outs (import_id, chunk_index);

-- Down Migration
DROP TABLE staging_opt_outs;
DROP TABLE dnc_full_files;
DROP TABLE dnc_numbers;
DROP TABLE staging_dnc_numbers;
DROP TABLE suppressions;
DROP TABLE staging_suppressions;
DROP TABLE consent_events;
DROP TABLE staging_consent_events;
DROP TABLE bookings;
DROP TABLE staging_bookings;
DROP TABLE customer_snapshots;
DROP TABLE staging_customers;
