import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { Needs } from "../ports";
import { type PoolClient, withTransaction } from "../db";
import { csvLine, type CsvValue } from "../csv/write";
import { CHANNELS, type Channel } from "../compliance/channels";
import * as Store from "./store";
import type { ChannelRules, Slot } from "./store";

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

const CONTACT_RULE = {
  email: "the latest snapshot has a non-blank e-mail",
  phone: "the latest snapshot has a phone",
  address:
    "the customer is linked to a golden record (its customer id as an identifier, or its e-mail or phone held by exactly one golden record) that has a standardized postal address (street line and ZIP)",
} as const;

const STEPS: readonly Step[] = [
  {
    step: "customers",
    flag: null,
    rule: "customers with a snapshot dated on or before the as-of day",
    applies: () => true,
  },
  { step: "active", flag: "is_active", rule: "the latest snapshot is active", applies: () => true },
  {
    step: "has_contact_point",
    flag: "has_contact_point",
    rule: (c) => CONTACT_RULE[c.contact_point!],
    applies: () => true,
  },
  {
    step: "consent",
    flag: "has_consent",
    rule: "the latest consent event for the channel is OPT_IN (at equal times OPT_OUT wins), and no other customer id of the same person has an OPT_OUT in force",
    applies: (c) => c.requires_consent,
  },
  {
    step: "not_opted_out",
    flag: "not_opted_out",
    rule: "no opt-out for the channel (any origin) dated on or before the as-of day of the customer's e-mail or phone, or of any e-mail or phone of its person (golden record and its other customer ids)",
    applies: () => true,
  },
  {
    step: "not_suppressed",
    flag: "not_suppressed",
    rule: "no suppression in force on the as-of day, of the customer or of another customer id of the same person",
    applies: () => true,
  },
  {
    step: "not_on_dnc_registry",
    flag: "not_on_dnc_registry",
    rule: "the phone is not listed on the national do-not-call registry",
    applies: (c) => c.scrub_dnc,
  },
  {
    step: "campaign_filters",
    flag: "matches_campaign",
    rule: "home state, loyalty tier and completed bookings in the lookback before the as-of day match the campaign",
    applies: () => true,
  },
  {
    step: "frequency_cap",
    flag: "under_frequency_cap",
    rule: "fewer touches on the channel in the cap's window than the cap allows, counting every customer id of the same person",
    applies: (c) => c.has_cap,
  },
  {
    step: "priority",
    flag: "not_in_higher_priority_audience",
    rule: (c) =>
      `not in the audience published on the as-of day for the channel by a campaign of higher priority (a number below ${c.priority}), nor is another customer id of the same person`,
    applies: (c) => c.has_higher_priority,
  },
  {
    step: "one_per_person",
    flag: "first_of_person",
    rule: "one customer id per person: another customer id of the same golden record that passes every rule comes first (byte order)",
    applies: (c) => c.has_people,
  },
];

const BOOKING_COLUMNS = [
  "home_state",
  "loyalty_tier",
  "bookings_last_365_days",
  "total_spend_last_365_days",
  "last_booking_date",
] as const;
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

export function audienceKeys(req: { campaign: string; channel: string; asOf: string; dryRun?: boolean }): {
  audience: string;
  reconciliation: string;
} {
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
 *
 * The steps, in order: check the request → lock the slot and read the channel's rules →
 * evaluate the rules → count the waterfall → write the audience file → record the publication
 * and its touchpoints (not on a dry run) → find priority conflicts → write the reconciliation.
 */
export async function publishAudience(
  deps: Needs<"pool" | "store" | "log", "bucket">,
  req: PublishRequest,
): Promise<Publication> {
  const slot = checkRequest(req);
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
    await Store.beginPublication(client, slot);
    const rules = await readRules(client, slot);
    const steps = STEPS.filter((s) => s.applies(rules));

    await Store.evaluate(
      client,
      slot,
      steps.map((s) => s.flag).filter((f): f is string => f !== null),
    );
    lap("evaluate_ms");
    const waterfall = await countWaterfall(client, steps, slot, rules);
    lap("waterfall_ms");

    const audience = await writeAudience(deps, client, bucket, keys.audience, rules);
    lap("write_audience_ms");
    if (audience.rows !== waterfall.at(-1)!.remaining) {
      throw new Error(
        `audience reconciliation failed: ${audience.rows} rows written, the waterfall ends with ${waterfall.at(-1)!.remaining}`,
      );
    }

    let added = 0;
    let withdrawn = 0;
    if (!dryRun) {
      const publicationId = await Store.recordPublication(client, slot, {
        rows: audience.rows,
        audienceKey: keys.audience,
        reconciliationKey: keys.reconciliation,
        sha256: audience.sha256,
        waterfall,
      });
      withdrawn = await Store.withdrawTouchpoints(client, slot);
      added = await Store.addTouchpoints(client, slot, publicationId);
    }
    const conflicts = await Store.priorityConflicts(client, slot, rules.priority);
    if (conflicts.length > 0) {
      deps.log.warn(
        "lower-priority audiences published earlier today share people with this one: publish them again to withdraw them",
        { campaign: slot.campaign, channel: slot.channel, asOf: slot.asOf, conflicts },
      );
    }

    lap("record_ms");
    const publication: Publication = {
      audience_file: `s3://${bucket}/${keys.audience}`,
      reconciliation_file: `s3://${bucket}/${keys.reconciliation}`,
      rows: audience.rows,
      waterfall: waterfall.map(({ step, remaining, excluded }) => ({ step, remaining, excluded })),
      campaign: slot.campaign,
      channel: slot.channel,
      as_of: slot.asOf,
      dry_run: dryRun,
      audience_sha256: audience.sha256,
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
    await deps.store.write(
      bucket,
      keys.reconciliation,
      JSON.stringify(reconciliation, null, 2) + "\n",
      "application/json",
    );
    deps.log.info("audience published", {
      campaign: slot.campaign,
      channel: slot.channel,
      asOf: slot.asOf,
      rows: audience.rows,
      dryRun,
      ms: Date.now() - started,
      ...timings,
    });
    return publication;
  });
}

/** The request as a slot (campaign, channel, day), or an AudienceRequestError saying what is wrong. */
function checkRequest(req: PublishRequest): Slot {
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(req.asOf) ||
    Number.isNaN(Date.parse(`${req.asOf}T00:00:00Z`)) ||
    new Date(`${req.asOf}T00:00:00Z`).toISOString().slice(0, 10) !== req.asOf
  ) {
    throw new AudienceRequestError(`as-of must be a date as YYYY-MM-DD, got ${JSON.stringify(req.asOf)}`);
  }
  if (!(CHANNELS as readonly string[]).includes(req.channel)) {
    throw new AudienceRequestError(`unknown channel ${JSON.stringify(req.channel)}; channels: ${CHANNELS.join(", ")}`);
  }
  return { campaign: req.campaign, channel: req.channel as Channel, asOf: req.asOf };
}

async function readRules(client: PoolClient, slot: Slot): Promise<ChannelRules> {
  const r = await Store.channelRules(client, slot.campaign, slot.channel);
  if (!r) {
    const known = await Store.campaignNames(client);
    throw new AudienceRequestError(`unknown campaign ${JSON.stringify(slot.campaign)}; campaigns: ${known.join(", ")}`);
  }
  if (!r.channels.includes(slot.channel)) {
    throw new AudienceRequestError(
      `campaign ${slot.campaign} does not use the ${slot.channel} channel (it uses ${r.channels.join(", ")})`,
    );
  }
  if (!r.contact_point) {
    throw new AudienceRequestError(
      `the ${slot.channel} channel has no contact point configured (channels.contact_point)`,
    );
  }
  return { ...r, has_cap: r.max_touches !== null };
}

/** remaining after step k = customers passing steps 1..k; the diagnostic SQL is that filter, runnable on its own. */
async function countWaterfall(
  client: PoolClient,
  steps: readonly Step[],
  slot: Slot,
  rules: ChannelRules,
): Promise<ReconciledStep[]> {
  const conditions = steps.map((_, k) =>
    steps
      .slice(0, k + 1)
      .map((s) => s.flag)
      .filter((f): f is string => f !== null),
  );
  const counts = await Store.countPassing(client, conditions);
  const source = `audience_evaluation(${quote(slot.campaign)}, ${quote(slot.channel)}, DATE ${quote(slot.asOf)})`;
  return steps.map((s, k) => {
    const remaining = counts[k]!;
    const before = k === 0 ? remaining : counts[k - 1]!;
    return {
      step: s.step,
      remaining,
      excluded: before - remaining,
      rule: typeof s.rule === "string" ? s.rule : s.rule(rules),
      diagnostic_sql: `SELECT count(*) FROM ${source}${conditions[k]!.length ? ` WHERE ${conditions[k]!.join(" AND ")}` : ""}`,
    };
  });
}

/** Streams the eligible customers to the audience CSV in the outbox, hashing what it writes. */
async function writeAudience(
  deps: Needs<"store">,
  client: PoolClient,
  bucket: string,
  key: string,
  rules: ChannelRules,
): Promise<{ rows: number; sha256: string }> {
  const contactColumns = CONTACT_OUTPUT[rules.contact_point!];
  const header = ["customer_id", ...contactColumns.map(columnName), ...BOOKING_COLUMNS];
  const hash = createHash("sha256");
  let rows = 0;
  const batches = Store.eligibleRows<Record<string, CsvValue>>(
    client,
    ["customer_id", ...contactColumns, ...BOOKING_COLUMNS],
    FETCH_ROWS,
  );
  async function* csv(): AsyncGenerator<Buffer> {
    const first = Buffer.from(csvLine(header));
    hash.update(first);
    yield first;
    for await (const batch of batches) {
      let text = "";
      for (const r of batch) text += csvLine(header.map((h) => r[h]));
      rows += batch.length;
      const part = Buffer.from(text);
      hash.update(part);
      yield part;
    }
  }
  await deps.store.write(bucket, key, Readable.from(csv()), "text/csv");
  return { rows, sha256: hash.digest("hex") };
}

/** The audience_evaluation() column of a waterfall step (undefined: no such step; null: the starting count). */
export function stepFlag(step: string): string | null | undefined {
  return STEPS.find((s) => s.step === step)?.flag;
}
