-- Legacy campaigns and touchpoints (leadpipe migrate). The rules:
--   * rule 1: a legacy campaign is named by its own name made a slug (lower case, runs of anything
--     but letters and digits become one '-', at most 63 characters); one legacy row owns a name:
--     a name held by another campaign (another legacy row, or one made here) refuses the row, and
--     a legacy row lands under one name only (renamed in the source: refused, naming the old name);
--   * rule 2: a legacy touchpoint names its campaign by the legacy campaign row (campaigns.legacy_id)
--     or by a campaign's name, and its person by the legacy row of a person table: it must resolve
--     to the person record landed from that row (person_records.source_key 'legacy_id=<LINEAGE>'),
--     or it is refused; customer_id is that lineage, person_record_id the record;
--   * rule 3: a touchpoint's person_id is its person record's golden record (set on promotion when
--     already resolved, by the record's first resolution (People's assignRecords), again by
--     legacy_touchpoints_follow_people() after a run's people are resolved, and by the trigger
--     person_records_legacy_touchpoints (migration 331) when a resolved record moves later: a merge,
--     an unmerge, a split).
-- The same legacy row landed again changes nothing (ON CONFLICT on the canonical keys, newest wins).

-- rule 1: the campaign name of a legacy name; NULL when it has no letter or digit.
CREATE OR REPLACE FUNCTION legacy_campaign_name(p_name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT nullif(left(trim(both '-' FROM regexp_replace(lower(coalesce(p_name, '')), '[^a-z0-9]+', '-', 'g')), 63), '');
$$;

-- rule 1: the chunk's legacy campaigns that cannot land, with why.
CREATE OR REPLACE FUNCTION legacy_campaigns_refused(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (source_row bigint, field text, value text, reason text) LANGUAGE sql STABLE AS $$
  WITH s AS (
    SELECT s.*, legacy_campaign_name(s.name) AS slug,
           row_number() OVER (PARTITION BY legacy_campaign_name(s.name) ORDER BY s.legacy_id, s.src_seq DESC) AS nth,
           first_value(s.legacy_id) OVER (PARTITION BY legacy_campaign_name(s.name) ORDER BY s.legacy_id) AS owner
      FROM staging_legacy_campaigns s WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index
  )
  SELECT s.source_row, 'name', s.name, 'a campaign name needs a letter or digit'
    FROM s WHERE s.slug IS NULL
  UNION ALL
  SELECT s.source_row, 'name', s.name, format('campaign name %s is also %s in this file', s.slug, s.owner)
    FROM s WHERE s.slug IS NOT NULL AND s.legacy_id <> s.owner
  UNION ALL
  SELECT s.source_row, 'name', s.name,
         format('campaign name %s already belongs to %s', s.slug, coalesce(c.legacy_id, 'a campaign not migrated'))
    FROM s JOIN campaigns c ON c.name = s.slug
   WHERE s.legacy_id = s.owner AND c.legacy_id IS DISTINCT FROM s.legacy_id
  UNION ALL
  SELECT s.source_row, 'name', s.name, format('%s landed as campaign %s before: rename that campaign first', s.legacy_id, c.name)
    FROM s JOIN campaigns c ON c.legacy_id = s.legacy_id
   WHERE s.slug IS NOT NULL AND c.name <> s.slug
  ORDER BY 1;
$$;

-- rule 1: the chunk's legacy campaigns (those no rule refused) land in campaigns; newest wins.
CREATE OR REPLACE FUNCTION promote_legacy_campaigns(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (inserted bigint, updated bigint) LANGUAGE sql AS $$
  WITH src AS (
    SELECT DISTINCT ON (s.legacy_id) s.*, legacy_campaign_name(s.name) AS slug
      FROM staging_legacy_campaigns s WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index
     ORDER BY s.legacy_id, s.src_seq DESC
  ), up AS (
    INSERT INTO campaigns AS c (name, description, channels, created_at, updated_at, legacy_id, import_id, source_row, src_seq)
    SELECT slug, coalesce(description, ''), ARRAY[channel], coalesce(created_at, now()), now(), legacy_id, import_id,
           source_row, src_seq
      FROM src ORDER BY slug
    ON CONFLICT (name) DO UPDATE SET
      description = excluded.description, channels = excluded.channels, created_at = excluded.created_at,
      updated_at = now(), import_id = excluded.import_id, source_row = excluded.source_row, src_seq = excluded.src_seq
    WHERE c.legacy_id = excluded.legacy_id AND excluded.src_seq > coalesce(c.src_seq, 0)
      AND (c.description, c.channels, c.created_at) IS DISTINCT FROM (excluded.description, excluded.channels, excluded.created_at)
    RETURNING (xmax = 0) AS was_inserted
  )
  SELECT count(*) FILTER (WHERE was_inserted), count(*) FILTER (WHERE NOT was_inserted) FROM up;
$$;

-- rule 2: what a staged legacy touchpoint resolves to (NULL where it does not).
CREATE OR REPLACE FUNCTION legacy_touchpoints_resolved(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (source_row bigint, src_seq bigint, legacy_id text, campaign_ref text, person_ref text, channel text,
               touched_on date, campaign text, record_id bigint, person_id bigint)
LANGUAGE sql STABLE AS $$
  SELECT s.source_row, s.src_seq, s.legacy_id, s.campaign_ref, s.person_ref, s.channel,
         (s.touched_at AT TIME ZONE 'UTC')::date,
         coalesce((SELECT c.name FROM campaigns c WHERE c.legacy_id = s.campaign_ref),
                  (SELECT c.name FROM campaigns c WHERE c.name = legacy_campaign_name(s.campaign_ref))),
         r.record_id, r.person_id
    FROM staging_legacy_touchpoints s
    LEFT JOIN person_records r ON r.source_kind = 'legacy-contacts' AND r.source_key = 'legacy_id=' || upper(s.person_ref)
   WHERE s.import_id = p_import_id AND s.chunk_index = p_chunk_index;
$$;

-- rule 2: the chunk's legacy touchpoints whose campaign or person is unknown.
CREATE OR REPLACE FUNCTION legacy_touchpoints_refused(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (source_row bigint, field text, value text, reason text) LANGUAGE sql STABLE AS $$
  SELECT t.source_row, 'campaign', t.campaign_ref, format('no campaign %s (migrate its campaigns table first)', t.campaign_ref)
    FROM legacy_touchpoints_resolved(p_import_id, p_chunk_index) t WHERE t.campaign IS NULL
  UNION ALL
  SELECT t.source_row, 'person', t.person_ref, format('no person record landed from %s', t.person_ref)
    FROM legacy_touchpoints_resolved(p_import_id, p_chunk_index) t WHERE t.record_id IS NULL
  ORDER BY 1;
$$;

-- rules 2 and 3: the chunk's legacy touchpoints land in touchpoints. A legacy row whose key moved
-- (another campaign, day or person in a newer delivery) leaves only its newest touchpoint.
CREATE OR REPLACE FUNCTION promote_legacy_touchpoints(p_import_id uuid, p_chunk_index int)
RETURNS TABLE (inserted bigint, updated bigint) LANGUAGE sql AS $$
  WITH src AS (
    SELECT DISTINCT ON (t.campaign, t.channel, t.person_ref, t.touched_on) t.*
      FROM legacy_touchpoints_resolved(p_import_id, p_chunk_index) t
     WHERE t.campaign IS NOT NULL AND t.record_id IS NOT NULL
     ORDER BY t.campaign, t.channel, t.person_ref, t.touched_on, t.legacy_id
  ), moved AS (
    DELETE FROM touchpoints o USING src
     WHERE o.legacy_id = src.legacy_id
       AND (o.campaign, o.channel, o.customer_id, o.touched_on) IS DISTINCT FROM (src.campaign, src.channel, src.person_ref, src.touched_on)
  ), up AS (
    INSERT INTO touchpoints AS t (campaign, channel, customer_id, touched_on, person_id, person_record_id, legacy_id,
                                  import_id, source_row)
    SELECT campaign, channel, person_ref, touched_on, person_id, record_id, legacy_id, p_import_id, source_row
      FROM src ORDER BY campaign, channel, person_ref, touched_on
    ON CONFLICT (campaign, channel, customer_id, touched_on) DO UPDATE SET
      person_id = excluded.person_id, person_record_id = excluded.person_record_id, legacy_id = excluded.legacy_id,
      import_id = excluded.import_id, source_row = excluded.source_row
    WHERE (t.person_id, t.person_record_id, t.legacy_id)
          IS DISTINCT FROM (excluded.person_id, excluded.person_record_id, excluded.legacy_id)
    RETURNING (xmax = 0) AS was_inserted
  )
  SELECT count(*) FILTER (WHERE was_inserted), count(*) FILTER (WHERE NOT was_inserted) FROM up;
$$;

-- rule 3: touchpoints follow their person records into golden records (all of them: after a run, the
-- records resolved for the first time); returns how many moved.
CREATE OR REPLACE FUNCTION legacy_touchpoints_follow_people()
RETURNS bigint LANGUAGE sql AS $$
  WITH moved AS (
    UPDATE touchpoints t SET person_id = r.person_id
      FROM person_records r
     WHERE r.record_id = t.person_record_id AND t.person_id IS DISTINCT FROM r.person_id
    RETURNING 1
  )
  SELECT count(*) FROM moved;
$$;
