import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { Deps } from "../ports";
import type { PoolClient } from "../db";
import { withTransaction } from "../db";
import { csvLine, type CsvValue } from "../csv/write";
import { CHANNELS, type Channel } from "../compliance/channels";

/** A request the rules cannot serve (unknown campaign, channel not allowed, no contact points): nothing is written. */
export class AudienceRequestError extends Error {
  override readonly name = "AudienceRequestError";
}

export interface PublishRequest {
  campaign: string;
  channel: string;
  /** YYYY-MM-DD: the day the audience is for (see sql/functions/audience_rules.sql for what that means per rule). */
  asOf: string;
  /** Compute and write the files under .../dry-run/, record nothing. */
  dryRun?: boolean;
}

export interface WaterfallStep {
  step: string;
  remaining: number;
  excluded: number;
}

/** What the reconciliation JSON says about one step: its counts, the rule in words, the SQL that reproduces `remaining`. */
export interface ReconciledStep extends WaterfallStep {
  rule: string;
  diagnostic_sql: string;
}

export interface Publication {
  audience_file: string;
  reconciliation_file: string;
  rows: number;
  waterfall: WaterfallStep[];
  campaign: string;
  channel: Channel;
  as_of: string;
  dry_run: boolean;
  audience_sha256: string;
  /** Touchpoints this publication added (0 when the same audience was already published for the day). */
  touchpoints_added: number;
  /** This day's touchpoints of the campaign that a previous publication recorded and this audience no longer has. */
  touchpoints_withdrawn: number;
  /**
   * Campaigns of lower priority already published on the same channel and day whose audience
   * has people this one now takes (published first, so they were not left out): publish them
   * again to withdraw those people. Empty when campaigns were published in priority order.
   */
  priority_conflicts: PriorityConflict[];
  /** Milliseconds per phase: evaluate (the rules into a temporary table), waterfall, write_audience, record. */
  timings: Record<string, number>;
}

export interface PriorityConflict {
  campaign: string;
  priority: number;
  /** Its touchpoints of the day whose person is in this audience. */
  touchpoints: number;
}

/** The waterfall, in order: each step keeps the customers that pass it and every step before it. */
interface Step {
  step: string;
  /** Column of audience_evaluation() that is true when the customer passes this step. */
  flag: string | null;
  rule: string | ((ch: ChannelRules) => string);
  applies(ch: ChannelRules): boolean;
}

interface ChannelRules {
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

const CONTACT_RULE = {
  email: "the latest snapshot has a non-blank e-mail",
  phone: "the latest snapshot has a phone",
  address: "the customer is linked to a golden record (its customer id as an identifier, or its e-mail or phone held by exactly one golden record) that has a standardized postal address (street line and ZIP)",
} as const;

const STEPS: readonly Step[] = [
  { step: "customers", flag: null, rule: "customers with a snapshot dated on or before the as-of day", applies: () => true },
  { step: "active", flag: "is_active", rule: "the latest snapshot is active", applies: () => true },
  { step: "has_contact_point", flag: "has_contact_point", rule: (c) => CONTACT_RULE[c.contact_point!], applies: () => true },
  { step: "consent", flag: "has_consent", rule: "the latest consent event for the channel is OPT_IN (at equal times OPT_OUT wins), and no other customer id of the same person has an OPT_OUT in force", applies: (c) => c.requires_consent },
  { step: "not_opted_out", flag: "not_opted_out", rule: "no opt-out for the channel (any origin) dated on or before the as-of day of the customer's e-mail or phone, or of any e-mail or phone of its person (golden record and its other customer ids)", applies: () => true },
  { step: "not_suppressed", flag: "not_suppressed", rule: "no suppression in force on the as-of day, of the customer or of another customer id of the same person", applies: () => true },
  { step: "not_on_dnc_registry", flag: "not_on_dnc_registry", rule: "the phone is not listed on the national do-not-call registry", applies: (c) => c.scrub_dnc },
  { step: "campaign_filters", flag: "matches_campaign", rule: "home state, loyalty tier and completed bookings in the lookback before the as-of day match the campaign", applies: () => true },
  { step: "frequency_cap", flag: "under_frequency_cap", rule: "fewer touches on the channel in the cap's window than the cap allows, counting every customer id of the same person", applies: (c) => c.has_cap },
  { step: "priority", flag: "not_in_higher_priority_audience", rule: (c) => `not in the audience published on the as-of day for the channel by a campaign of higher priority (a number below ${c.priority}), nor is another customer id of the same person`, applies: (c) => c.has_higher_priority },
  { step: "one_per_person", flag: "first_of_person", rule: "one customer id per person: another customer id of the same golden record that passes every rule comes first (byte order)", applies: (c) => c.has_people },
];

const BOOKING_COLUMNS = ["home_state", "loyalty_tier", "bookings_last_365_days", "total_spend_last_365_days", "last_booking_date"] as const;
const FETCH_ROWS = 20_000;
/**
 * The contact column as written: phones as their 10 national digits (US numbers only), because a
 * cell starting with "+" is neutralized by the CSV writer's formula-injection guard.
 */
const CONTACT_OUTPUT = {
  email: ["email"],
  phone: ["substr(phone, 3) AS phone"],
  address: ["person_id", "first_name", "last_name", "address_line1", "city", "state", "zip5", "zip4"],
} as const;
const columnName = (expr: string) => expr.split(" AS ").at(-1)!;

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function audienceKeys(req: { campaign: string; channel: string; asOf: string; dryRun?: boolean }): { audience: string; reconciliation: string } {
  const dir = `outbox/audiences/${req.campaign}/${req.asOf}${req.dryRun ? "/dry-run" : ""}`;
  const base = `${dir}/${req.campaign}-${req.channel}-${req.asOf}`;
  return { audience: `${base}.csv`, reconciliation: `${base}.reconciliation.json` };
}

/**
 * Publishes the audience of a campaign on a channel for a day: evaluates the rules once
 * (audience_evaluation in sql/functions/audience_rules.sql) inside one REPEATABLE READ
 * transaction, writes the audience CSV (ordered by customer_id, byte order) and the
 * reconciliation JSON (the exclusion waterfall with the SQL that reproduces each count) to the
 * outbox, and records the publication and its touchpoints. Publishing again for the same
 * campaign, channel and day writes the same files over the old ones and leaves one touchpoint
 * per customer: the touchpoints of the day are exactly the latest audience.
 */
export async function publishAudience(deps: Pick<Deps, "pool" | "store" | "settings" | "log">, req: PublishRequest): Promise<Publication> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(req.asOf) || Number.isNaN(Date.parse(`${req.asOf}T00:00:00Z`)) ||
    new Date(`${req.asOf}T00:00:00Z`).toISOString().slice(0, 10) !== req.asOf) {
    throw new AudienceRequestError(`as-of must be a date as YYYY-MM-DD, got ${JSON.stringify(req.asOf)}`);
  }
  if (!(CHANNELS as readonly string[]).includes(req.channel)) {
    throw new AudienceRequestError(`unknown channel ${JSON.stringify(req.channel)}; channels: ${CHANNELS.join(", ")}`);
  }
  const channel = req.channel as Channel;
  const dryRun = req.dryRun ?? false;
  const keys = audienceKeys(req);
  const bucket = deps.settings.bucket;
  const started = Date.now();
  // Where the time goes, for the log and the reconciliation: evaluate, count, write, record.
  const timings: Record<string, number> = {};
  let mark = started;
  const lap = (phase: string) => {
    const now = Date.now();
    timings[phase] = now - mark;
    mark = now;
  };

  return withTransaction(deps.pool, async (client) => {
    await client.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    // A batch job over every customer: hash joins and aggregates of millions of rows stay in memory.
    await client.query("SET LOCAL work_mem = '256MB'");
    // One publisher per campaign, channel and day at a time.
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`audience:${req.campaign}:${channel}:${req.asOf}`]);
    const rules = await channelRules(client, req.campaign, channel);
    const steps = STEPS.filter((s) => s.applies(rules));
    const flags = steps.map((s) => s.flag).filter((f): f is string => f !== null);

    await client.query(
      `CREATE TEMP TABLE audience_eval ON COMMIT DROP AS
         SELECT e.*, (${flags.map((f) => `e.${f}`).join(" AND ")}) AS eligible
         FROM audience_evaluation($1, $2, $3::date) e`, [req.campaign, channel, req.asOf]);
    lap("evaluate_ms");
    const waterfall = await countWaterfall(client, steps, req, rules);
    lap("waterfall_ms");

    const contactColumns = CONTACT_OUTPUT[rules.contact_point!];
    const header = ["customer_id", ...contactColumns.map(columnName), ...BOOKING_COLUMNS];
    const hash = createHash("sha256");
    let rows = 0;
    await client.query(
      `DECLARE audience_rows NO SCROLL CURSOR FOR
         SELECT customer_id, ${contactColumns.join(", ")}, ${BOOKING_COLUMNS.join(", ")}
         FROM audience_eval WHERE eligible ORDER BY customer_id COLLATE "C"`);
    async function* csv(): AsyncGenerator<Buffer> {
      const first = Buffer.from(csvLine(header));
      hash.update(first);
      yield first;
      for (;;) {
        const batch = await client.query<Record<string, CsvValue>>(`FETCH ${FETCH_ROWS} FROM audience_rows`);
        if (batch.rows.length === 0) break;
        let text = "";
        for (const r of batch.rows) text += csvLine(header.map((h) => r[h]));
        rows += batch.rows.length;
        const part = Buffer.from(text);
        hash.update(part);
        yield part;
      }
    }
    await deps.store.write(bucket, keys.audience, Readable.from(csv()), "text/csv");
    await client.query("CLOSE audience_rows");
    const sha256 = hash.digest("hex");
    lap("write_audience_ms");
    if (rows !== waterfall.at(-1)!.remaining) {
      throw new Error(`audience reconciliation failed: ${rows} rows written, the waterfall ends with ${waterfall.at(-1)!.remaining}`);
    }

    let added = 0;
    let withdrawn = 0;
    if (!dryRun) {
      const pub = await client.query<{ id: string }>(
        `INSERT INTO audience_publications (campaign, channel, as_of, rows, audience_key, reconciliation_key, audience_sha256, waterfall)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (campaign, channel, as_of) DO UPDATE SET
           rows = excluded.rows, audience_key = excluded.audience_key, reconciliation_key = excluded.reconciliation_key,
           audience_sha256 = excluded.audience_sha256, waterfall = excluded.waterfall,
           times_published = audience_publications.times_published + 1, published_at = now()
         RETURNING id`,
        [req.campaign, channel, req.asOf, rows, keys.audience, keys.reconciliation, sha256, JSON.stringify(waterfall)]);
      const publicationId = pub.rows[0]!.id;
      const gone = await client.query(
        `DELETE FROM touchpoints t
          WHERE t.campaign = $1 AND t.channel = $2 AND t.touched_on = $3
            AND NOT EXISTS (SELECT 1 FROM audience_eval e WHERE e.eligible AND e.customer_id = t.customer_id)`,
        [req.campaign, channel, req.asOf]);
      withdrawn = gone.rowCount ?? 0;
      const ins = await client.query(
        `INSERT INTO touchpoints (campaign, channel, customer_id, touched_on, person_id, publication_id)
         SELECT $1, $2, e.customer_id, $3, e.person_id, $4 FROM audience_eval e WHERE e.eligible
         ON CONFLICT (campaign, channel, customer_id, touched_on) DO UPDATE SET person_id = excluded.person_id
         WHERE touchpoints.person_id IS DISTINCT FROM excluded.person_id
         RETURNING (xmax = 0) AS inserted`,
        [req.campaign, channel, req.asOf, publicationId]);
      added = ins.rows.filter((r: { inserted: boolean }) => r.inserted).length;
    }
    const conflicts = await priorityConflicts(client, req.campaign, channel, req.asOf, rules.priority);
    if (conflicts.length > 0) {
      deps.log.warn("lower-priority audiences published earlier today share people with this one: publish them again to withdraw them",
        { campaign: req.campaign, channel, asOf: req.asOf, conflicts });
    }

    lap("record_ms");
    const publication: Publication = {
      audience_file: `s3://${bucket}/${keys.audience}`,
      reconciliation_file: `s3://${bucket}/${keys.reconciliation}`,
      rows,
      waterfall: waterfall.map(({ step, remaining, excluded }) => ({ step, remaining, excluded })),
      campaign: req.campaign,
      channel,
      as_of: req.asOf,
      dry_run: dryRun,
      audience_sha256: sha256,
      touchpoints_added: added,
      touchpoints_withdrawn: withdrawn,
      priority_conflicts: conflicts,
      timings,
    };
    const reconciliation = {
      ...publication,
      waterfall,
      rules: "sql/functions/audience_rules.sql (audience_evaluation)",
      frequency_cap: rules.has_cap ? { max_touches: rules.max_touches, window_days: rules.window_days } : null,
      priority: rules.priority,
      generated_at: new Date().toISOString(),
    };
    await deps.store.write(bucket, keys.reconciliation, JSON.stringify(reconciliation, null, 2) + "\n", "application/json");
    deps.log.info("audience published", { campaign: req.campaign, channel, asOf: req.asOf, rows, dryRun, ms: Date.now() - started, ...timings });
    return publication;
  });
}

async function channelRules(client: PoolClient, campaign: string, channel: Channel): Promise<ChannelRules> {
  const { rows } = await client.query<Omit<ChannelRules, "has_cap"> & { channels: string[] }>(
    `SELECT c.channels, ch.contact_point, ch.requires_consent, ch.scrub_dnc, cap.max_touches, cap.window_days, c.priority,
            EXISTS (SELECT 1 FROM campaigns o WHERE o.priority < c.priority AND $2 = ANY (o.channels)) AS has_higher_priority,
            EXISTS (SELECT 1 FROM persons) AS has_people
       FROM campaigns c JOIN channels ch ON ch.channel = $2
       LEFT JOIN campaign_frequency_caps cap ON cap.campaign = c.name AND cap.channel = $2
      WHERE c.name = $1`, [campaign, channel]);
  const r = rows[0];
  if (!r) {
    const known = await client.query<{ name: string }>("SELECT name FROM campaigns ORDER BY name");
    throw new AudienceRequestError(`unknown campaign ${JSON.stringify(campaign)}; campaigns: ${known.rows.map((k) => k.name).join(", ")}`);
  }
  if (!r.channels.includes(channel)) {
    throw new AudienceRequestError(`campaign ${campaign} does not use the ${channel} channel (it uses ${r.channels.join(", ")})`);
  }
  if (!r.contact_point) {
    throw new AudienceRequestError(`the ${channel} channel has no contact point configured (channels.contact_point)`);
  }
  return { ...r, has_cap: r.max_touches !== null };
}

/** remaining after step k = customers passing steps 1..k; the diagnostic SQL is that filter, runnable on its own. */
async function countWaterfall(client: PoolClient, steps: readonly Step[], req: PublishRequest, rules: ChannelRules): Promise<ReconciledStep[]> {
  const conditions = steps.map((_, k) => steps.slice(0, k + 1).map((s) => s.flag).filter((f): f is string => f !== null));
  const { rows } = await client.query<Record<string, number>>(
    `SELECT ${conditions.map((c, k) => `count(*) FILTER (WHERE ${c.length ? c.join(" AND ") : "true"})::bigint AS s${k}`).join(", ")} FROM audience_eval`);
  const counts = rows[0]!;
  const source = `audience_evaluation(${quote(req.campaign)}, ${quote(req.channel)}, DATE ${quote(req.asOf)})`;
  return steps.map((s, k) => {
    const remaining = Number(counts[`s${k}`]);
    const before = k === 0 ? remaining : Number(counts[`s${k - 1}`]);
    return {
      step: s.step,
      remaining,
      excluded: before - remaining,
      rule: typeof s.rule === "string" ? s.rule : s.rule(rules),
      diagnostic_sql: `SELECT count(*) FROM ${source}${conditions[k]!.length ? ` WHERE ${conditions[k]!.join(" AND ")}` : ""}`,
    };
  });
}

/**
 * Lower-priority campaigns already published on this channel and day whose touchpoints reach a
 * person of this audience: they were published first, so priority could not leave those people
 * out of them. Publishing them again withdraws those people (the priority step now excludes them).
 */
async function priorityConflicts(client: PoolClient, campaign: string, channel: Channel, asOf: string, priority: number): Promise<PriorityConflict[]> {
  const { rows } = await client.query<{ campaign: string; priority: number; touchpoints: string }>(
    `SELECT t.campaign, o.priority, count(*) AS touchpoints
       FROM touchpoints t
       JOIN campaigns o ON o.name = t.campaign AND o.priority > $4
       LEFT JOIN audience_eval te ON te.customer_id = t.customer_id
      WHERE t.channel = $2 AND t.touched_on = $3 AND t.campaign <> $1
        AND coalesce('p' || te.person_id, 'c' || t.customer_id) IN (
              SELECT coalesce('p' || e.person_id, 'c' || e.customer_id) FROM audience_eval e WHERE e.eligible)
      GROUP BY t.campaign, o.priority
      ORDER BY o.priority, t.campaign COLLATE "C"`, [campaign, channel, asOf, priority]);
  return rows.map((r) => ({ campaign: r.campaign, priority: r.priority, touchpoints: Number(r.touchpoints) }));
}
