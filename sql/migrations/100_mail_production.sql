-- Up Migration
-- Mail production: what each partner printed and dropped, per mail piece (its IMb tracking code):
-- the mail date, the mailer version (the A/B creative), the piece type and the campaign. One file
-- per partner (partner-b-mail-production-2026-11-20.csv); the partner that produced a piece owns
-- its production row, and another partner's file can never change it (mail_production_conflicts).

CREATE TABLE staging_mail_production (
  import_id       uuid NOT NULL,
  chunk_index     int NOT NULL,
  source_row      bigint NOT NULL,
  src_seq         bigint NOT NULL,
  partner         text NOT NULL,
  tracking_code   text NOT NULL,
  routing_code    text,
  imb_raw         text NOT NULL,
  mail_date       date NOT NULL,
  mailer_version  text NOT NULL,
  piece_type      text NOT NULL,
  campaign        text NOT NULL
);
CREATE INDEX staging_mail_production_chunk ON staging_mail_production (import_id, chunk_index);

-- One row per mail piece produced; the newest delivery (src_seq) of the owning partner wins.
CREATE TABLE mail_piece_production (
  tracking_code   text PRIMARY KEY CHECK (tracking_code ~ '^[0-9]{20}$'),
  partner         text NOT NULL,
  mail_date       date NOT NULL,
  mailer_version  text NOT NULL,
  piece_type      text NOT NULL CHECK (piece_type IN ('letter', 'postcard', 'self_mailer')),
  campaign        text NOT NULL,
  import_id       uuid NOT NULL,
  source_row      bigint NOT NULL,
  src_seq         bigint NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
-- The reporting rollups are recomputed per mail date.
CREATE INDEX mail_piece_production_mail_date ON mail_piece_production (mail_date);

-- Down Migration
DROP TABLE mail_piece_production;
DROP TABLE staging_mail_production;
