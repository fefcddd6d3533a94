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
--   * Priority: a campaign leaves out the people in the published audience of a campaign with a
--     strictly higher priority (smaller number) on the same channel and day (touched_on = D).
-- Persons (golden records, sql/migrations/030_people.sql): a customer is linked to the golden
-- record that holds its customer id as an identifier (a contact list column such as
-- "Customer ID"), else to the single golden record that holds its e-mail or E.164 phone exactly
-- (none when two golden records do). A linked customer is judged as the person: an opt-out of
-- any of the person's e-mails or phones on the channel, an OPT_OUT consent in force on any of
-- the person's customer ids, a suppression of any of them, and every touch of any of them count
-- for all; the person's touches are also what a higher-priority campaign claims; and one
-- customer id per person is in an audience (the first in byte order). A customer without a
-- golden record is judged alone, as before. Mail goes to the golden record's postal address.
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

DROP FUNCTION IF EXISTS audience_evaluation(text, text, date);
CREATE FUNCTION audience_evaluation(p_campaign text, p_channel text, p_as_of date)
RETURNS TABLE (
  customer_id                text,
  person_id                  bigint,
  linked_by                  text,
  email                      text,
  phone                      text,
  first_name                 text,
  last_name                  text,
  address_line1              text,
  city                       text,
  state                      text,
  zip5                       text,
  zip4                       text,
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
  under_frequency_cap        boolean,
  not_in_higher_priority_audience boolean,
  first_of_person            boolean
)
LANGUAGE sql STABLE AS $$
  WITH rules AS (
    SELECT c.home_states, c.loyalty_tiers, c.min_completed_bookings, c.booking_lookback_days, c.priority,
           ch.contact_point, ch.requires_consent, ch.scrub_dnc, cap.max_touches, cap.window_days,
           (p_as_of::timestamp AT TIME ZONE 'UTC')       AS day_starts,
           ((p_as_of + 1)::timestamp AT TIME ZONE 'UTC') AS day_ends
    FROM campaigns c
    JOIN channels ch ON ch.channel = p_channel
    LEFT JOIN campaign_frequency_caps cap ON cap.campaign = c.name AND cap.channel = p_channel
    WHERE c.name = p_campaign
  ),
  known AS MATERIALIZED (
    SELECT c.customer_id, nullif(btrim(c.email), '') AS email, c.phone, c.home_state, c.loyalty_tier, c.is_active
    FROM customers_as_of(p_as_of) c
  ),
  -- The golden record of a customer: by identifier (a person record with a customer id column),
  -- else by contact point; only when exactly one golden record qualifies.
  by_identifier AS (
    SELECT substr(id, strpos(id, '=') + 1) AS customer_id, min(r.person_id) AS person_id
    FROM person_records r, unnest(r.ids) AS id
    WHERE r.person_id IS NOT NULL
      AND regexp_replace(split_part(id, '=', 1), '[^a-z]', '', 'g') IN ('customerid', 'customerno', 'customernumber')
    GROUP BY 1
    HAVING count(DISTINCT r.person_id) = 1
  ),
  by_contact AS (
    SELECT h.customer_id, min(h.person_id) AS person_id
    FROM (
      SELECT k.customer_id, pe.person_id FROM known k JOIN person_emails pe ON pe.email = lower(k.email)
      UNION
      SELECT k.customer_id, pp.person_id FROM known k JOIN person_phones pp ON pp.phone = k.phone
    ) h
    GROUP BY 1
    HAVING count(DISTINCT h.person_id) = 1
  ),
  links AS MATERIALIZED (
    SELECT k.customer_id, coalesce(i.person_id, bc.person_id) AS person_id,
           CASE WHEN i.person_id IS NOT NULL THEN 'customer id' ELSE 'contact point' END AS linked_by
    FROM known k
    LEFT JOIN by_identifier i ON i.customer_id = k.customer_id
    LEFT JOIN by_contact bc ON bc.customer_id = k.customer_id
    WHERE i.person_id IS NOT NULL OR bc.person_id IS NOT NULL
  ),
  customer AS (
    SELECT k.*, l.person_id, l.linked_by, coalesce('p' || l.person_id, 'c' || k.customer_id) AS person_key,
           p.first_name, p.last_name, nullif(btrim(p.address_line1), '') AS address_line1, p.city, p.state,
           nullif(btrim(p.zip5), '') AS zip5, p.zip4,
           CASE r.contact_point
             WHEN 'email' THEN k.email
             WHEN 'phone' THEN k.phone
             WHEN 'address' THEN CASE WHEN nullif(btrim(p.address_line1), '') IS NOT NULL AND nullif(btrim(p.zip5), '') IS NOT NULL
                                      THEN p.address_line1 || ', ' || p.zip5 END
           END AS contact
    FROM known k
    CROSS JOIN rules r
    LEFT JOIN links l ON l.customer_id = k.customer_id
    LEFT JOIN persons p ON p.person_id = l.person_id
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
  -- Persons with an OPT_OUT in force on any of their customer ids.
  consent_withdrawn AS (
    SELECT DISTINCT l.person_id FROM consent c JOIN links l ON l.customer_id = c.customer_id WHERE c.consent_status = 'OPT_OUT'
  ),
  opted_out AS (
    SELECT DISTINCT o.value FROM opt_outs o, rules r
    WHERE o.channel = p_channel AND o.opted_out_at < r.day_ends
  ),
  -- Every e-mail and phone of a customer, and of a person: the customer's own, its golden
  -- record's and those of the other customers linked to it. (An opt-out's value is an e-mail or a
  -- phone; which kind a channel takes is decided when it is stored, see opt_out_value.)
  opted_out_keys AS (
    SELECT DISTINCT x.person_key FROM (
      SELECT c.person_key, c.email AS value FROM customer c WHERE c.email IS NOT NULL
      UNION ALL SELECT c.person_key, c.phone FROM customer c WHERE c.phone IS NOT NULL
      UNION ALL SELECT 'p' || pe.person_id, pe.email FROM person_emails pe
      UNION ALL SELECT 'p' || pp.person_id, pp.phone FROM person_phones pp
    ) x
    WHERE x.value IN (SELECT value FROM opted_out)
  ),
  suppressed AS (
    SELECT DISTINCT s.customer_id FROM suppressions s, rules r
    WHERE s.suppressed_at < r.day_ends AND (s.expires_at IS NULL OR s.expires_at > r.day_starts)
  ),
  suppressed_persons AS (
    SELECT DISTINCT l.person_id FROM suppressed s JOIN links l ON l.customer_id = s.customer_id
  ),
  -- A touch counts for its customer's person when the customer is linked now, else for the customer.
  recent_touches AS (
    SELECT coalesce('p' || l.person_id, 'c' || t.customer_id) AS person_key, count(*) AS touches
    FROM touchpoints t CROSS JOIN rules r
    LEFT JOIN links l ON l.customer_id = t.customer_id
    WHERE r.max_touches IS NOT NULL
      AND t.channel = p_channel
      AND t.touched_on > p_as_of - r.window_days AND t.touched_on <= p_as_of
      AND NOT (t.campaign = p_campaign AND t.touched_on = p_as_of)
    GROUP BY 1
  ),
  -- People in today's published audience of a campaign with a higher priority on this channel.
  claimed AS (
    SELECT DISTINCT coalesce('p' || l.person_id, 'c' || t.customer_id) AS person_key
    FROM touchpoints t
    JOIN campaigns other ON other.name = t.campaign
    CROSS JOIN rules r
    LEFT JOIN links l ON l.customer_id = t.customer_id
    WHERE t.channel = p_channel AND t.touched_on = p_as_of AND other.priority < r.priority
  ),
  evaluated AS (
    SELECT
      c.customer_id, c.person_id, c.linked_by, c.email, c.phone,
      c.first_name, c.last_name, c.address_line1, c.city, c.state, c.zip5, c.zip4,
      c.home_state, c.loyalty_tier,
      coalesce(rb.bookings, 0) AS bookings, coalesce(rb.spend, 0) AS spend, rb.last_booking_date,
      c.is_active,
      c.contact IS NOT NULL AS has_contact_point,
      NOT r.requires_consent OR (coalesce(consent.consent_status = 'OPT_IN', false)
        AND NOT EXISTS (SELECT 1 FROM consent_withdrawn w WHERE w.person_id = c.person_id)) AS has_consent,
      NOT EXISTS (SELECT 1 FROM opted_out_keys o WHERE o.person_key = c.person_key) AS not_opted_out,
      NOT EXISTS (SELECT 1 FROM suppressed s WHERE s.customer_id = c.customer_id)
        AND NOT EXISTS (SELECT 1 FROM suppressed_persons sp WHERE sp.person_id = c.person_id) AS not_suppressed,
      -- the registry's bitmap (dnc_bitmap.sql): block = number / 8192, bit = number % 8192
      NOT r.scrub_dnc OR c.phone IS NULL OR dnc.bits IS NULL
        OR get_bit(dnc.bits, (substr(c.phone, 3)::bigint % 8192)::int) = 0 AS not_on_dnc_registry,
      (r.home_states IS NULL OR c.home_state = ANY (r.home_states))
        AND (r.loyalty_tiers IS NULL OR upper(c.loyalty_tier) = ANY (r.loyalty_tiers))
        AND coalesce(rb.bookings, 0) >= r.min_completed_bookings AS matches_campaign,
      r.max_touches IS NULL OR coalesce(rt.touches, 0) < r.max_touches AS under_frequency_cap,
      NOT EXISTS (SELECT 1 FROM claimed cl WHERE cl.person_key = c.person_key) AS not_in_higher_priority_audience
    FROM customer c
    CROSS JOIN rules r
    LEFT JOIN recent_bookings rb ON rb.customer_id = c.customer_id
    LEFT JOIN consent ON consent.customer_id = c.customer_id
    LEFT JOIN recent_touches rt ON rt.person_key = c.person_key
    LEFT JOIN dnc_bitmap dnc ON r.scrub_dnc AND dnc.block = (substr(c.phone, 3)::bigint / 8192)::int
  )
  SELECT e.customer_id, e.person_id, e.linked_by, e.email, e.phone,
         e.first_name, e.last_name, e.address_line1, e.city, e.state, e.zip5, e.zip4,
         e.home_state, e.loyalty_tier, e.bookings, e.spend, e.last_booking_date,
         e.is_active, e.has_contact_point, e.has_consent, e.not_opted_out, e.not_suppressed, e.not_on_dnc_registry,
         e.matches_campaign, e.under_frequency_cap, e.not_in_higher_priority_audience,
         -- One customer id per person: the first in byte order among those passing every other rule.
         CASE WHEN e.person_id IS NULL OR NOT e.passes THEN true
              ELSE row_number() OVER (PARTITION BY e.person_id ORDER BY e.passes DESC, e.customer_id COLLATE "C") = 1 END
  FROM (
    SELECT ev.*, (ev.is_active AND ev.has_contact_point AND ev.has_consent AND ev.not_opted_out AND ev.not_suppressed
                  AND ev.not_on_dnc_registry AND ev.matches_campaign AND ev.under_frequency_cap
                  AND ev.not_in_higher_priority_audience) AS passes
    FROM evaluated ev
  ) e;
$$;
