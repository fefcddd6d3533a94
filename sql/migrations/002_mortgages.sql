-- Up Migration
-- Staging: every partner's mortgage rows in one table, as received (typed after validation).
CREATE TABLE staging_mortgages (
  import_id            uuid NOT NULL,
  chunk_index          int NOT NULL,
  source_row           bigint NOT NULL,
  src_seq              bigint NOT NULL,
  partner              text NOT NULL,
  mortgage_id          text NOT NULL,
  borrower_first_name  text,
  borrower_last_name   text,
  co_borrower_first_name text,
  co_borrower_last_name  text,
  property_address     text,
  property_city        text,
  property_state       text,
  property_zip5        text,
  property_zip4        text,
  mailing_address      text,
  mailing_city         text,
  mailing_state        text,
  mailing_zip5         text,
  mailing_zip4         text,
  loan_amount          numeric(14,2),
  lender_name          text,
  loan_type            text,
  interest_rate        numeric(6,3),
  closing_date         date,
  first_payment_date   date,
  phone                text,
  email                text,
  imb_raw              text,
  tracking_code        text
);
CREATE INDEX staging_mortgages_chunk ON staging_mortgages (import_id, chunk_index);

-- Core: one row per mortgage, keyed by the canonical mortgage id.
CREATE TABLE mortgages (
  mortgage_id          text PRIMARY KEY,
  partner              text NOT NULL,
  borrower_first_name  text,
  borrower_last_name   text,
  co_borrower_first_name text,
  co_borrower_last_name  text,
  property_address     text,
  property_city        text,
  property_state       text,
  property_zip5        text,
  property_zip4        text,
  mailing_address      text,
  mailing_city         text,
  mailing_state        text,
  mailing_zip5         text,
  mailing_zip4         text,
  loan_amount          numeric(14,2),
  lender_name          text,
  loan_type            text,
  interest_rate        numeric(6,3),
  closing_date         date,
  first_payment_date   date,
  phone                text,
  email                text,
  import_id            uuid NOT NULL,
  source_row           bigint NOT NULL,
  src_seq              bigint NOT NULL,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mortgages_partner ON mortgages (partner);

-- Down Migration
DROP TABLE mortgages;
DROP TABLE staging_mortgages;
