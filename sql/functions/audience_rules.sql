-- Who may be contacted, on which channel, and why not.
--
-- audience_evaluation(campaign, channel, as_of) returns one row per customer known on the as-of
-- day with one boolean per rule, each computed on its own, so every count of the exclusion
-- waterfall is a plain filter over this function (the reconciliation JSON carries those queries).
--
-- Time semantics (--as-of D, a calendar date, UTC):
--   * What is known: every snapshot, consent event and opt-out timestamped before the END of D
--     (before D + 1 at 00:00 UTC) counts; later ones do not (re-running an old day reproduces it).
--   * Suppressions apply if they are in force at any moment of D: suppressed_at before the end
--     of D and expires_at blank or after the START of D. expires_at is the first instant the
--     suppression no longer applies, so expires_at = D (00:00) or earlier no longer applies.
--   * Recent bookings: completed bookings with booking_date in [D - lookback, D - 1], i.e. the
--     lookback days before D; a booking exactly 365 days before D counts, one on D does not.
--   * Frequency caps count touches on the channel (any campaign) with touched_on in
--     [D - window_days + 1, D], except this campaign's own touches on D (publishing again the
--     same day is not a new touch).
-- Ties:
--   * Customers: the latest updated_at wins; equal updated_at cannot coexist (one snapshot per
--     customer and updated_at: the later delivery replaced the earlier, see promote_customers).
--   * Consent: the latest event_ts per customer and channel wins; at equal event_ts OPT_OUT wins.
--   * Opt-outs are never lifted by a later consent (removing one is an explicit act).

-- "recency <= 1" below selects the same rows as "recency = 1" (row_number starts at 1); it is
-- written so because the planner's default estimate for an equality on a window result is 0.5%
-- of the input, which at millions of customers makes it build hash tables on the wrong side.

-- The customers as they stood at the end of the as-of day: the latest snapshot of each.
CREATE OR REPLACE FUNCTION customers_as_of(p_as_of date)
RETURNS TABLE (customer_id text, email text, phone text, home_state text, loyalty_tier text, is_active boolean, updated_at timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT customer_id, email, phone, home_state, loyalty_tier, is_active, updated_at
  FROM (
    SELECT s.*, row_number() OVER (PARTITION BY s.customer_id ORDER BY s.updated_at DESC, s.src_seq DESC) AS recency
    FROM customer_snapshots s
    WHERE s.updated_at < ((p_as_of + 1)::timestamp AT TIME ZONE 'UTC')
  ) ranked
  WHERE recency <= 1;
$$;

-- The consent in force per customer for a channel at the end of the as-of day.
CREATE OR REPLACE FUNCTION consent_in_force(p_channel text, p_as_of date)
RETURNS TABLE (customer_id text, consent_status text, event_ts timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT customer_id, consent_status, event_ts
  FROM (
    SELECT e.*, row_number() OVER (PARTITION BY e.customer_id
                                   ORDER BY e.event_ts DESC, (e.consent_status = 'OPT_OUT') DESC) AS recency
    FROM consent_events e
    WHERE e.channel = p_channel AND e.event_ts < ((p_as_of + 1)::timestamp AT TIME ZONE 'UTC')
  ) ranked
  WHERE recency <= 1;
$$;

CREATE OR REPLACE FUNCTION audience_evaluation(p_campaign text, p_channel text, p_as_of date)
RETURNS TABLE (
  customer_id                text,
  email                      text,
  phone                      text,
  home_state                 text,
  loyalty_tier               text,
  bookings_last_365_days     bigint,
  total_spend_last_365_days  numeric,
  last_booking_date          date,
  is_active                  boolean,
  has_contact_point          boolean,
  has_consent                boolean,
  not_opted_out              boolean,
  not_suppressed             boolean,
  not_on_dnc_registry        boolean,
  matches_campaign           boolean,
  under_frequency_cap        boolean
)
LANGUAGE sql STABLE AS $$
  WITH rules AS (
    SELECT c.home_states, c.loyalty_tiers, c.min_completed_bookings, c.booking_lookback_days,
           ch.contact_point, ch.requires_consent, ch.scrub_dnc, cap.max_touches, cap.window_days,
           (p_as_of::timestamp AT TIME ZONE 'UTC')       AS day_starts,
           ((p_as_of + 1)::timestamp AT TIME ZONE 'UTC') AS day_ends
    FROM campaigns c
    JOIN channels ch ON ch.channel = p_channel
    LEFT JOIN campaign_frequency_caps cap ON cap.campaign = c.name AND cap.channel = p_channel
    WHERE c.name = p_campaign
  ),
  customer AS (
    SELECT c.customer_id, nullif(btrim(c.email), '') AS email, c.phone, c.home_state, c.loyalty_tier, c.is_active,
           CASE r.contact_point WHEN 'email' THEN nullif(btrim(c.email), '') WHEN 'phone' THEN c.phone END AS contact
    FROM customers_as_of(p_as_of) c, rules r
  ),
  recent_bookings AS (
    SELECT b.customer_id, count(*) AS bookings, sum(b.booking_amount) AS spend, max(b.booking_date) AS last_booking_date
    FROM bookings b, rules r
    WHERE b.booking_status = 'COMPLETED'
      AND b.booking_date >= p_as_of - r.booking_lookback_days
      AND b.booking_date < p_as_of
    GROUP BY b.customer_id
  ),
  consent AS (
    SELECT * FROM consent_in_force(p_channel, p_as_of)
  ),
  opted_out AS (
    SELECT DISTINCT o.value FROM opt_outs o, rules r
    WHERE o.channel = p_channel AND o.opted_out_at < r.day_ends
  ),
  suppressed AS (
    SELECT DISTINCT s.customer_id FROM suppressions s, rules r
    WHERE s.suppressed_at < r.day_ends AND (s.expires_at IS NULL OR s.expires_at > r.day_starts)
  ),
  recent_touches AS (
    SELECT t.customer_id, count(*) AS touches FROM touchpoints t, rules r
    WHERE r.max_touches IS NOT NULL
      AND t.channel = p_channel
      AND t.touched_on > p_as_of - r.window_days AND t.touched_on <= p_as_of
      AND NOT (t.campaign = p_campaign AND t.touched_on = p_as_of)
    GROUP BY t.customer_id
  )
  SELECT
    c.customer_id, c.email, c.phone, c.home_state, c.loyalty_tier,
    coalesce(rb.bookings, 0), coalesce(rb.spend, 0), rb.last_booking_date,
    c.is_active,
    c.contact IS NOT NULL,
    NOT r.requires_consent OR coalesce(consent.consent_status = 'OPT_IN', false),
    c.contact IS NULL OR NOT EXISTS (SELECT 1 FROM opted_out o WHERE o.value = c.contact),
    NOT EXISTS (SELECT 1 FROM suppressed s WHERE s.customer_id = c.customer_id),
    NOT r.scrub_dnc OR c.phone IS NULL OR NOT EXISTS (
      SELECT 1 FROM dnc_numbers d WHERE d.phone = substr(c.phone, 3)::bigint AND d.listed),
    (r.home_states IS NULL OR c.home_state = ANY (r.home_states))
      AND (r.loyalty_tiers IS NULL OR upper(c.loyalty_tier) = ANY (r.loyalty_tiers))
      AND coalesce(rb.bookings, 0) >= r.min_completed_bookings,
    r.max_touches IS NULL OR coalesce(rt.touches, 0) < r.max_touches
  FROM customer c
  CROSS JOIN rules r
  LEFT JOIN recent_bookings rb ON rb.customer_id = c.customer_id
  LEFT JOIN consent ON consent.customer_id = c.customer_id
  LEFT JOIN recent_touches rt ON rt.customer_id = c.customer_id;
$$;
