-- Partner pullers. The rules every puller (SFTP, FTPS, Graph; local or Lambda) shares, once:
--   * a ledger, not a high-water mark: every version of a remote file (puller, path, size,
--     modification time, remote hash) is a row of its own, so a file older than the last run but
--     never seen, or two files with equal times, are each landed;
--   * a version is complete when it has been listed unchanged (same size and modification time)
--     at two listings at least stable_seconds apart; a file that changes in between is a new
--     version and the old one is marked 'unstable' with the change as its reason;
--   * a version is landed once: a landed (or duplicate) version is 'already-landed' at every later
--     listing unless an operator forces it; the same name with new content is a new version and
--     lands again; the same content under another name lands and the pipeline records it as a
--     duplicate import (the ledger then says 'duplicate');
--   * one run at a time lands a version, or sends a delivery: a run claims it for a short lease and
--     renews the lease while it works (a heartbeat); the claim names its process, so another run
--     may take it over when the lease ran out, or at once when that process is seen dead on the
--     same machine (the caller judges that: claim_owner.ts); a run that cannot renew stops;
--   * a missing expected file is alerted once per puller and local day;
--   * an outbound file (puller, remote path, content) is sent once: a sent delivery is never sent again;
--     one not sent (failed, or claimed by a run that never finished) is sent by every later run until it is.

-- A listing as rows: [{path, size, modified_at, remote_hash?}].
CREATE OR REPLACE FUNCTION puller_listing(p_files jsonb)
RETURNS TABLE (path text, size bigint, modified_at timestamptz, remote_hash text) LANGUAGE sql STABLE AS $$
  SELECT f->>'path', (f->>'size')::bigint, (f->>'modified_at')::timestamptz, coalesce(f->>'remote_hash', '')
    FROM jsonb_array_elements(p_files) AS f;
$$;

-- Upserts one listing of a puller and classifies each listed version:
-- 'already-landed', 'stable' (land it now) or 'unstable' (wait_seconds more, or it changed).
CREATE OR REPLACE FUNCTION puller_observe(p_puller text, p_stable_seconds int, p_files jsonb)
RETURNS TABLE (id bigint, path text, outcome text, reason text, wait_seconds numeric)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  INSERT INTO puller_files AS pf (puller, path, size, modified_at, remote_hash)
  SELECT p_puller, l.path, l.size, l.modified_at, l.remote_hash FROM puller_listing(p_files) l
  ON CONFLICT (puller, path, size, modified_at, remote_hash) DO UPDATE SET last_seen_at = now();

  -- Earlier versions of a listed path that never landed changed before they were complete.
  UPDATE puller_files pf SET state = 'unstable',
         reason = format('changed before it was complete: %s bytes modified %s, now %s bytes modified %s',
                         pf.size, pf.modified_at, l.size, l.modified_at)
    FROM puller_listing(p_files) l
   WHERE pf.puller = p_puller AND pf.path = l.path AND pf.state IN ('seen', 'unstable')
     AND (pf.size, pf.modified_at, pf.remote_hash) <> (l.size, l.modified_at, l.remote_hash)
     AND pf.last_seen_at < now();

  RETURN QUERY
  SELECT pf.id, pf.path,
         CASE WHEN pf.state IN ('landed', 'duplicate') AND NOT pf.forced THEN 'already-landed'
              WHEN pf.first_seen_at <= now() - make_interval(secs => p_stable_seconds) THEN 'stable'
              ELSE 'unstable' END,
         CASE WHEN pf.state IN ('landed', 'duplicate') AND NOT pf.forced THEN format('landed %s as %s', pf.landed_at, pf.object_key)
              WHEN pf.first_seen_at > now() - make_interval(secs => p_stable_seconds)
                THEN format('first seen %s with this size and time: not yet unchanged for %s s', pf.first_seen_at, p_stable_seconds) END,
         greatest(0, extract(epoch FROM pf.first_seen_at + make_interval(secs => p_stable_seconds) - now()))::numeric
    FROM puller_listing(p_files) l
    JOIN puller_files pf ON pf.puller = p_puller AND (pf.path, pf.size, pf.modified_at, pf.remote_hash) = (l.path, l.size, l.modified_at, l.remote_hash)
   ORDER BY pf.path;
END $$;

-- Claims a version for landing (a lease held by p_owner): false when it is landed already or another
-- run holds it. p_take_from: the holder the caller saw dead, whose claim it takes over even in its lease.
DROP FUNCTION IF EXISTS puller_claim(bigint, int);
CREATE OR REPLACE FUNCTION puller_claim(p_id bigint, p_lease_seconds int, p_owner text, p_take_from text DEFAULT NULL)
RETURNS boolean LANGUAGE sql AS $$
  WITH c AS (
    UPDATE puller_files SET claimed_until = now() + make_interval(secs => p_lease_seconds), claimed_by = p_owner,
           attempts = attempts + 1, landing_started_at = clock_timestamp()
     WHERE id = p_id AND (state NOT IN ('landed', 'duplicate') OR forced)
       AND (claimed_until IS NULL OR claimed_until < now() OR claimed_by = p_take_from)
    RETURNING 1)
  SELECT EXISTS (SELECT 1 FROM c);
$$;

-- Who holds a version's claim now (NULL when nobody does).
CREATE OR REPLACE FUNCTION puller_claim_holder(p_id bigint)
RETURNS text LANGUAGE sql STABLE AS $$
  SELECT claimed_by FROM puller_files WHERE id = p_id AND claimed_until >= now();
$$;

-- Renews a claim's lease; false when p_owner no longer holds it (it ran out and another run took it).
CREATE OR REPLACE FUNCTION puller_claim_renew(p_table text, p_id bigint, p_owner text, p_lease_seconds int)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  v_found int;
BEGIN
  IF p_table NOT IN ('puller_files', 'puller_deliveries') THEN
    RAISE EXCEPTION 'puller_claim_renew: no claims in %', p_table;
  END IF;
  EXECUTE format('UPDATE %I SET claimed_until = now() + make_interval(secs => $1) WHERE id = $2 AND claimed_by = $3 '
                 'AND claimed_until IS NOT NULL', p_table)
    USING p_lease_seconds, p_id, p_owner;
  GET DIAGNOSTICS v_found = ROW_COUNT;
  RETURN v_found = 1;
END $$;

CREATE OR REPLACE FUNCTION puller_landed(p_id bigint, p_object_key text, p_sha256 text)
RETURNS void LANGUAGE sql AS $$
  UPDATE puller_files SET state = 'landed', reason = NULL, object_key = p_object_key, sha256 = p_sha256, import_id = NULL,
         landed_at = now(), forced = false, claimed_until = NULL, claimed_by = NULL
   WHERE id = p_id;
$$;

-- A version not landed by this run: 'failed' (retried by the next run), 'skipped' or 'unstable', with its reason.
CREATE OR REPLACE FUNCTION puller_not_landed(p_id bigint, p_state text, p_reason text)
RETURNS void LANGUAGE sql AS $$
  UPDATE puller_files SET state = p_state, reason = p_reason, claimed_until = NULL, claimed_by = NULL
   WHERE id = p_id AND state NOT IN ('landed', 'duplicate');
$$;

-- Links landed versions to the imports their objects started; a duplicate import makes the version 'duplicate'.
CREATE OR REPLACE FUNCTION puller_link_imports(p_ids bigint[])
RETURNS TABLE (id bigint, import_id uuid, import_status text)
LANGUAGE sql AS $$
  WITH found AS (
    SELECT DISTINCT ON (pf.id) pf.id, i.id AS import_id, i.status
      FROM puller_files pf
      JOIN imports i ON i.object_key = pf.object_key AND i.sha256 = pf.sha256 AND i.created_at >= pf.landing_started_at
     WHERE pf.id = ANY (p_ids) AND pf.state IN ('landed', 'duplicate')
     ORDER BY pf.id, i.seq DESC),
  linked AS (
    UPDATE puller_files pf SET import_id = f.import_id,
           state = CASE WHEN f.status = 'DUPLICATE' THEN 'duplicate' ELSE 'landed' END
      FROM found f WHERE pf.id = f.id
    RETURNING pf.id, f.import_id, f.status)
  SELECT * FROM linked;
$$;

-- An operator's re-pull: the newest version of the path lands again at the next run. Returns the versions forced (0 or 1).
CREATE OR REPLACE FUNCTION puller_force(p_puller text, p_path text)
RETURNS int LANGUAGE sql AS $$
  WITH newest AS (
    SELECT id FROM puller_files WHERE puller = p_puller AND path = p_path ORDER BY last_seen_at DESC, id DESC LIMIT 1),
  f AS (UPDATE puller_files pf SET forced = true, claimed_until = NULL FROM newest n WHERE pf.id = n.id RETURNING 1)
  SELECT count(*)::int FROM f;
$$;

-- Whether a file of the puller landed (or was recognized as a duplicate) on a local day in its time
-- zone: the one test of "the day's file is missing" (the alert below and the console's today page).
CREATE OR REPLACE FUNCTION puller_landed_on(p_puller text, p_day date, p_timezone text)
RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM puller_files WHERE puller = p_puller AND state IN ('landed', 'duplicate')
                    AND (landed_at AT TIME ZONE p_timezone)::date = p_day);
$$;

-- True once per puller and local day when nothing landed that day (in the puller's time zone):
-- the caller alerts then, and never again that day.
CREATE OR REPLACE FUNCTION puller_missing_alert_due(p_puller text, p_day date, p_timezone text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  v_new int;
BEGIN
  IF puller_landed_on(p_puller, p_day, p_timezone) THEN RETURN false; END IF;
  INSERT INTO puller_missing_alerts (puller, day) VALUES (p_puller, p_day) ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS v_new = ROW_COUNT;
  RETURN v_new = 1;
END $$;

-- Records an outbound file and claims it for sending (a lease held by p_owner): 'send' (claimed: send
-- it), 'sent' (sent before: never again), or 'busy' (another run holds it; holder names it).
-- p_take_from: the holder the caller saw dead, whose claim it takes over even in its lease.
DROP FUNCTION IF EXISTS puller_delivery_claim(text, text, text, bigint, text, int);
CREATE OR REPLACE FUNCTION puller_delivery_claim(p_puller text, p_object_key text, p_remote_path text, p_size bigint,
                                                 p_sha256 text, p_lease_seconds int, p_owner text,
                                                 p_take_from text DEFAULT NULL)
RETURNS TABLE (id bigint, decision text, sent_at timestamptz, holder text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_id bigint;
  v_state text;
  v_sent timestamptz;
  v_holder text;
BEGIN
  INSERT INTO puller_deliveries (puller, object_key, remote_path, size, sha256)
  VALUES (p_puller, p_object_key, p_remote_path, p_size, p_sha256)
  ON CONFLICT (puller, remote_path, sha256) DO NOTHING;
  SELECT d.id, d.state, d.sent_at INTO v_id, v_state, v_sent FROM puller_deliveries d
   WHERE d.puller = p_puller AND d.remote_path = p_remote_path AND d.sha256 = p_sha256;
  IF v_state = 'sent' THEN RETURN QUERY SELECT v_id, 'sent'::text, v_sent, NULL::text; RETURN; END IF;
  UPDATE puller_deliveries d SET claimed_until = now() + make_interval(secs => p_lease_seconds), claimed_by = p_owner,
         attempts = d.attempts + 1
   WHERE d.id = v_id AND d.state <> 'sent'
     AND (d.claimed_until IS NULL OR d.claimed_until < now() OR d.claimed_by = p_take_from);
  IF FOUND THEN RETURN QUERY SELECT v_id, 'send'::text, NULL::timestamptz, NULL::text; RETURN; END IF;
  SELECT d.claimed_by INTO v_holder FROM puller_deliveries d WHERE d.id = v_id;
  RETURN QUERY SELECT v_id, 'busy'::text, NULL::timestamptz, v_holder;
END $$;

CREATE OR REPLACE FUNCTION puller_delivery_done(p_id bigint, p_sent boolean, p_answer text)
RETURNS void LANGUAGE sql AS $$
  UPDATE puller_deliveries SET state = CASE WHEN p_sent THEN 'sent' ELSE 'failed' END, answer = p_answer,
         sent_at = CASE WHEN p_sent THEN now() END, claimed_until = NULL, claimed_by = NULL
   WHERE id = p_id AND state <> 'sent';
$$;

-- The files under a prefix (e.g. outbox/leads/) that a destination was to receive and has not: a
-- failed delivery, or one whose run never finished (its lease ran out), and no other content of the
-- same object sent since. Every later run sends them.
CREATE OR REPLACE FUNCTION puller_deliveries_unsent(p_puller text, p_prefix text)
RETURNS TABLE (object_key text) LANGUAGE sql STABLE AS $$
  SELECT DISTINCT d.object_key FROM puller_deliveries d
   WHERE d.puller = p_puller AND starts_with(d.object_key, p_prefix) AND d.state <> 'sent'
     AND (d.claimed_until IS NULL OR d.claimed_until < now())
     AND NOT EXISTS (SELECT 1 FROM puller_deliveries s
                      WHERE s.puller = d.puller AND s.object_key = d.object_key AND s.state = 'sent')
   ORDER BY 1;
$$;
