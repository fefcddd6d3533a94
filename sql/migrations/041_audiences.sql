-- Up Migration
-- Audiences: channels and what each needs, campaigns (definitions and frequency caps),
-- touchpoints and published audiences. The rules themselves are sql/functions/audience_rules.sql.

-- What a channel needs before anyone may be contacted on it.
CREATE TABLE channels (
  channel          text PRIMARY KEY CHECK (channel IN ('mail', 'call', 'email', 'sms')),
  -- the customer's field that is the contact point; NULL: no source of contact points yet
  contact_point    text CHECK (contact_point IN ('email', 'phone')),
  -- the latest consent event for the channel must be OPT_IN
  requires_consent boolean NOT NULL,
  -- the number must not be listed on the national do-not-call registry
  scrub_dnc        boolean NOT NULL
);
INSERT INTO channels (channel, contact_point, requires_consent, scrub_dnc) VALUES
  ('email', 'email', true,  false),
  ('sms',   'phone', true,  true),
  ('call',  'phone', false, true),
  ('mail',  NULL,    false, false);

-- A campaign: the channels it may use and the filters its audience must match.
CREATE TABLE campaigns (
  name                   text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  description            text NOT NULL DEFAULT '',
  channels               text[] NOT NULL CHECK (cardinality(channels) > 0 AND channels <@ ARRAY['mail', 'call', 'email', 'sms']),
  home_states            text[],          -- NULL: any state
  loyalty_tiers          text[],          -- NULL: any tier (compared upper-cased)
  min_completed_bookings int NOT NULL DEFAULT 0 CHECK (min_completed_bookings >= 0),
  booking_lookback_days  int NOT NULL DEFAULT 365 CHECK (booking_lookback_days > 0),
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);

-- At most max_touches on the channel (any campaign) in the window_days ending on the as-of day.
CREATE TABLE campaign_frequency_caps (
  campaign     text NOT NULL REFERENCES campaigns (name) ON DELETE CASCADE,
  channel      text NOT NULL REFERENCES channels (channel),
  max_touches  int NOT NULL CHECK (max_touches > 0),
  window_days  int NOT NULL CHECK (window_days > 0),
  PRIMARY KEY (campaign, channel)
);

INSERT INTO campaigns (name, description, channels, min_completed_bookings, booking_lookback_days) VALUES
  ('recent-bookers', 'Active customers with an e-mail, e-mail consent, no active suppression and a completed booking in the 365 days before the as-of date',
   ARRAY['email'], 1, 365);

-- One published audience per campaign, channel and as-of day (publishing again replaces it).
CREATE TABLE audience_publications (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  campaign            text NOT NULL REFERENCES campaigns (name),
  channel             text NOT NULL REFERENCES channels (channel),
  as_of               date NOT NULL,
  rows                bigint NOT NULL,
  audience_key        text NOT NULL,
  reconciliation_key  text NOT NULL,
  audience_sha256     text NOT NULL,
  waterfall           jsonb NOT NULL,
  times_published     int NOT NULL DEFAULT 1,
  first_published_at  timestamptz NOT NULL DEFAULT now(),
  published_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (campaign, channel, as_of)
);

-- A contact made (or scheduled by a published audience) on a channel for a campaign.
-- person_id links the golden record when the people layer has one.
CREATE TABLE touchpoints (
  campaign        text NOT NULL,
  channel         text NOT NULL CHECK (channel IN ('mail', 'call', 'email', 'sms')),
  customer_id     text NOT NULL,
  touched_on      date NOT NULL,
  person_id       text,
  publication_id  uuid REFERENCES audience_publications (id) ON DELETE SET NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (campaign, channel, customer_id, touched_on)
);
CREATE INDEX touchpoints_customer_channel ON touchpoints (customer_id, channel, touched_on);

-- Down Migration
DROP TABLE touchpoints;
DROP TABLE audience_publications;
DROP TABLE campaign_frequency_caps;
DROP TABLE campaigns;
DROP TABLE channels;
