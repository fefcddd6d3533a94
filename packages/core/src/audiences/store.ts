import type { PoolClient } from "../db";
import type { Channel } from "../compliance/channels";

/**
 * The SQL of publishing an audience, one function per statement. The rules themselves live in
 * sql/functions/audience_rules.sql (audience_evaluation); this module only reads them into the
 * transaction's temporary table `audience_eval` and records what was published.
 */

export interface ChannelRules {
  contact_point: "email" | "phone" | "address" | null;
  requires_consent: boolean;
  scrub_dnc: boolean;
  has_cap: boolean;
  max_touches: number | null;
  window_days: number | null;
  priority: number;
  /** A campaign with a strictly higher priority (smaller number) uses the channel. */
  has_higher_priority: boolean;
  /** Golden records exist (people resolved): one customer id per person. */
  has_people: boolean;
}

export interface Slot {
  campaign: string;
  channel: Channel;
  asOf: string;
}

/** REPEATABLE READ, memory for a batch job over every customer, and one publisher per slot at a time. */
export async function beginPublication(client: PoolClient, slot: Slot): Promise<void> {
  await client.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
  // A batch job over every customer: hash joins and aggregates of millions of rows stay in memory.
  await client.query("SET LOCAL work_mem = '256MB'");
  await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [
    `audience:${slot.campaign}:${slot.channel}:${slot.asOf}`,
  ]);
}

/** The campaign's rules on the channel; undefined when the campaign does not exist. */
export async function channelRules(
  client: PoolClient,
  campaign: string,
  channel: Channel,
): Promise<(Omit<ChannelRules, "has_cap"> & { channels: string[] }) | undefined> {
  const { rows } = await client.query<Omit<ChannelRules, "has_cap"> & { channels: string[] }>(
    `SELECT c.channels, ch.contact_point, ch.requires_consent, ch.scrub_dnc, cap.max_touches, cap.window_days, c.priority,
            EXISTS (SELECT 1 FROM campaigns o WHERE o.priority < c.priority AND $2 = ANY (o.channels)) AS has_higher_priority,
            EXISTS (SELECT 1 FROM persons) AS has_people
       FROM campaigns c JOIN channels ch ON ch.channel = $2
       LEFT JOIN campaign_frequency_caps cap ON cap.campaign = c.name AND cap.channel = $2
      WHERE c.name = $1`,
    [campaign, channel],
  );
  return rows[0];
}

export async function campaignNames(client: PoolClient): Promise<string[]> {
  const known = await client.query<{ name: string }>("SELECT name FROM campaigns ORDER BY name");
  return known.rows.map((k) => k.name);
}

/** The rules evaluated once into `audience_eval`, with `eligible` = every applicable flag. */
export async function evaluate(client: PoolClient, slot: Slot, flags: readonly string[]): Promise<void> {
  await client.query(
    `CREATE TEMP TABLE audience_eval ON COMMIT DROP AS
       SELECT e.*, (${flags.map((f) => `e.${f}`).join(" AND ")}) AS eligible
       FROM audience_evaluation($1, $2, $3::date) e`,
    [slot.campaign, slot.channel, slot.asOf],
  );
}

/** For each list of flags, the customers passing all of them (s0, s1, …), in one scan. */
export async function countPassing(client: PoolClient, conditions: readonly (readonly string[])[]): Promise<number[]> {
  const { rows } = await client.query<Record<string, string>>(
    `SELECT ${conditions.map((c, k) => `count(*) FILTER (WHERE ${c.length ? c.join(" AND ") : "true"})::bigint AS s${k}`).join(", ")} FROM audience_eval`,
  );
  return conditions.map((_, k) => Number(rows[0]![`s${k}`]));
}

/** The eligible customers' rows, `batchRows` at a time, ordered by customer id (byte order). */
export async function* eligibleRows<R>(
  client: PoolClient,
  columns: readonly string[],
  batchRows: number,
): AsyncGenerator<R[]> {
  await client.query(
    `DECLARE audience_rows NO SCROLL CURSOR FOR
       SELECT ${columns.join(", ")} FROM audience_eval WHERE eligible ORDER BY customer_id COLLATE "C"`,
  );
  try {
    for (;;) {
      const batch = await client.query<R & Record<string, unknown>>(`FETCH ${batchRows} FROM audience_rows`);
      if (batch.rows.length === 0) return;
      yield batch.rows;
    }
  } finally {
    await client.query("CLOSE audience_rows");
  }
}

export interface PublicationRecord {
  rows: number;
  audienceKey: string;
  reconciliationKey: string;
  sha256: string;
  waterfall: unknown;
}

/** Records (or re-records) the slot's publication; returns its id. */
export async function recordPublication(client: PoolClient, slot: Slot, p: PublicationRecord): Promise<string> {
  const pub = await client.query<{ id: string }>(
    `INSERT INTO audience_publications (campaign, channel, as_of, rows, audience_key, reconciliation_key, audience_sha256, waterfall)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (campaign, channel, as_of) DO UPDATE SET
       rows = excluded.rows, audience_key = excluded.audience_key, reconciliation_key = excluded.reconciliation_key,
       audience_sha256 = excluded.audience_sha256, waterfall = excluded.waterfall,
       times_published = audience_publications.times_published + 1, published_at = now()
     RETURNING id`,
    [
      slot.campaign,
      slot.channel,
      slot.asOf,
      p.rows,
      p.audienceKey,
      p.reconciliationKey,
      p.sha256,
      JSON.stringify(p.waterfall),
    ],
  );
  return pub.rows[0]!.id;
}

/** Deletes the slot's touchpoints whose customer is no longer eligible; returns how many. */
export async function withdrawTouchpoints(client: PoolClient, slot: Slot): Promise<number> {
  const gone = await client.query(
    `DELETE FROM touchpoints t
      WHERE t.campaign = $1 AND t.channel = $2 AND t.touched_on = $3
        AND NOT EXISTS (SELECT 1 FROM audience_eval e WHERE e.eligible AND e.customer_id = t.customer_id)`,
    [slot.campaign, slot.channel, slot.asOf],
  );
  return gone.rowCount ?? 0;
}

/** One touchpoint per eligible customer for the slot; returns how many were new. */
export async function addTouchpoints(client: PoolClient, slot: Slot, publicationId: string): Promise<number> {
  const ins = await client.query<{ inserted: boolean }>(
    `INSERT INTO touchpoints (campaign, channel, customer_id, touched_on, person_id, publication_id)
     SELECT $1, $2, e.customer_id, $3, e.person_id, $4 FROM audience_eval e WHERE e.eligible
     ON CONFLICT (campaign, channel, customer_id, touched_on) DO UPDATE SET person_id = excluded.person_id
     WHERE touchpoints.person_id IS DISTINCT FROM excluded.person_id
     RETURNING (xmax = 0) AS inserted`,
    [slot.campaign, slot.channel, slot.asOf, publicationId],
  );
  return ins.rows.filter((r) => r.inserted).length;
}

/**
 * Lower-priority campaigns already published on this channel and day whose touchpoints reach a
 * person of this audience: they were published first, so priority could not leave those people
 * out of them. Publishing them again withdraws those people (the priority step now excludes them).
 */
export async function priorityConflicts(
  client: PoolClient,
  slot: Slot,
  priority: number,
): Promise<{ campaign: string; priority: number; touchpoints: number }[]> {
  const { rows } = await client.query<{ campaign: string; priority: number; touchpoints: string }>(
    `SELECT t.campaign, o.priority, count(*) AS touchpoints
       FROM touchpoints t
       JOIN campaigns o ON o.name = t.campaign AND o.priority > $4
       LEFT JOIN audience_eval te ON te.customer_id = t.customer_id
      WHERE t.channel = $2 AND t.touched_on = $3 AND t.campaign <> $1
        AND coalesce('p' || te.person_id, 'c' || t.customer_id) IN (
              SELECT coalesce('p' || e.person_id, 'c' || e.customer_id) FROM audience_eval e WHERE e.eligible)
      GROUP BY t.campaign, o.priority
      ORDER BY o.priority, t.campaign COLLATE "C"`,
    [slot.campaign, slot.channel, slot.asOf, priority],
  );
  return rows.map((r) => ({ campaign: r.campaign, priority: r.priority, touchpoints: Number(r.touchpoints) }));
}
