/**
 * Audience publish at scale and the do-not-call scrub, on the local platform's embedded
 * PostgreSQL. The data set is built in SQL with generate_series (no files), once:
 *
 *   npx tsx bench/audiences.ts [--people 10000000] [--touchpoints 50000000] [--registry 50000000]
 *
 * Measures: recent-bookers (e-mail) publish, a capped e-mail campaign (the cap reads the
 * touchpoints), a call campaign (scrubs the registry) — each end to end (rules, waterfall,
 * CSV to the S3-compatible outbox, touchpoints) — and the scrub alone against two
 * representations of the registry: bigint btree (dnc_numbers, what the rules use) at 1/5 and all of
 * --registry numbers, and a bitmap per block of 8,192 numbers at the full national size
 * (305 area codes, 2.4 billion numbers, about half listed: more than the real ~250M).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Audience, createLogger } from "@leadpipe/core";
import { s3Store } from "@leadpipe/core/adapters/s3";
import { LocalPlatform } from "../packages/local/src/platform";

const { values } = parseArgs({ options: {
  people: { type: "string", default: "10000000" },
  touchpoints: { type: "string", default: "50000000" },
  registry: { type: "string", default: "50000000" },
} });
const people = Number(values.people);
const touches = Number(values.touchpoints);
const registry = Number(values.registry);
const AS_OF = "2026-11-20";
process.env.LOG_LEVEL = process.env.LOG_LEVEL ?? "warn";
const tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-bench-aud-"));
const platform = await LocalPlatform.start({ home: path.join(tmp, "home"), log: () => undefined });
const db = platform.pool;
const rows: string[] = [];
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function timed<T>(label: string, fn: () => Promise<T>): Promise<{ sec: number; result: T }> {
  const t = Date.now();
  const result = await fn();
  const sec = (Date.now() - t) / 1000;
  console.error(`${label}: ${sec.toFixed(1)} s`);
  return { sec, result };
}

async function size(table: string): Promise<string> {
  const { rows: r } = await db.query<{ s: string }>(`SELECT pg_size_pretty(pg_total_relation_size('${table}')) AS s`);
  return r[0]!.s;
}

try {
  await db.query("SET max_parallel_workers_per_gather = 0");
  // The people: one snapshot each (60% with a phone), e-mail consent (85% OPT_IN), a booking each
  // in the last 400 days (80% completed), 1 in 20 suppressed, 1 in 50 opted out.
  await timed(`load ${fmt(people)} customers, consents, bookings, suppressions, opt-outs`, async () => {
    await db.query(`INSERT INTO customer_snapshots (customer_id, updated_at, email, phone, home_state, loyalty_tier, is_active, import_id, source_row, src_seq)
      SELECT 'C' || lpad(i::text, 8, '0'), timestamptz '2026-01-01' + (i % 300) * interval '1 day',
             CASE WHEN i % 10 <> 0 THEN 'p' || i || '@example.com' END,
             CASE WHEN i % 5 < 3 THEN '+1' || (2000000000 + (i::bigint * 104729) % 8000000000)::text END,
             (ARRAY['TX','CA','NY','WA','OR'])[1 + i % 5], (ARRAY['bronze','silver','gold'])[1 + i % 3], i % 10 <> 1,
             gen_random_uuid(), i, i FROM generate_series(1, $1) i`, [people]);
    await db.query(`INSERT INTO consent_events (customer_id, channel, event_ts, consent_status, import_id, source_row, src_seq)
      SELECT 'C' || lpad(i::text, 8, '0'), 'email', timestamptz '2026-02-01' + (i % 200) * interval '1 hour',
             CASE WHEN i % 20 < 17 THEN 'OPT_IN' ELSE 'OPT_OUT' END, gen_random_uuid(), i, i FROM generate_series(1, $1) i`, [people]);
    await db.query(`INSERT INTO bookings (booking_id, customer_id, booking_date, booking_amount, booking_status, import_id, source_row, src_seq)
      SELECT 'B' || i, 'C' || lpad(i::text, 8, '0'), date '2026-11-20' - (i % 400), 20 + (i % 2000), CASE WHEN i % 5 <> 0 THEN 'COMPLETED' ELSE 'CANCELLED' END,
             gen_random_uuid(), i, i FROM generate_series(1, $1) i`, [people]);
    await db.query(`INSERT INTO suppressions (customer_id, reason, suppressed_at, expires_at, import_id, source_row, src_seq)
      SELECT 'C' || lpad(i::text, 8, '0'), 'complaint', timestamptz '2026-06-01', CASE WHEN i % 40 = 0 THEN timestamptz '2027-01-01' END,
             gen_random_uuid(), i, i FROM generate_series(3, $1, 20) i`, [people]);
    await db.query(`INSERT INTO opt_outs (channel, value, opted_out_at, reason, origin)
      SELECT 'email', 'p' || i || '@example.com', timestamptz '2026-07-01', 'bench', 'internal' FROM generate_series(7, $1, 50) i`, [people]);
  });
  // Touchpoints: every person touched touches/people times in the 60 days before as-of, on rotating
  // channels; unique by construction, loaded without the table's indexes, which are built after.
  await timed(`load ${fmt(touches)} touchpoints (and index them)`, () => db.query(`
    ALTER TABLE touchpoints DROP CONSTRAINT touchpoints_pkey;
    DROP INDEX touchpoints_customer_channel;
    INSERT INTO touchpoints (campaign, channel, customer_id, touched_on)
      SELECT 'history-' || (k % 7), (ARRAY['email','call','sms','mail'])[1 + k % 4], 'C' || lpad((1 + i % ${people})::text, 8, '0'),
             date '2026-11-20' - (1 + (k * 12 + i % 12) % 60)
      FROM generate_series(0, ${touches} - 1) i, LATERAL (SELECT i / ${people} AS k) kk;
    ALTER TABLE touchpoints ADD PRIMARY KEY (campaign, channel, customer_id, touched_on);
    CREATE INDEX touchpoints_customer_channel ON touchpoints (customer_id, channel, touched_on);`));
  const tp = (await db.query<{ n: number }>("SELECT count(*)::bigint AS n FROM touchpoints")).rows[0]!.n;
  await db.query("ANALYZE");
  await db.query(`INSERT INTO campaigns (name, channels) VALUES ('bench-capped', ARRAY['email']), ('bench-call', ARRAY['call'])`);
  await db.query(`INSERT INTO campaign_frequency_caps VALUES ('bench-capped', 'email', 1, 7)`);

  const deps = { pool: db, store: s3Store(platform.s3), settings: { bucket: platform.bucket, chunkRows: 0, maxFileBytes: 0 }, log: createLogger({}, () => undefined) };
  rows.push(`| what | people | touchpoints | registry | seconds | audience rows | rate |`, `|---|---:|---:|---:|---:|---:|---:|`);
  // The registry as the rules read it (bigint btree), at 1/5 of --registry first for the trend.
  const registryRow = async (n: number) => {
    await timed(`load registry to ${fmt(n)} numbers`, () => db.query(`INSERT INTO dnc_numbers (phone, listed, import_id, src_seq)
      SELECT 2000000000 + (i::bigint * 7919) % 8000000000, true, '00000000-0000-4000-8000-000000000000', 0
      FROM generate_series((SELECT count(*) FROM dnc_numbers), $1 - 1) i ON CONFLICT DO NOTHING`, [n]));
    await db.query("VACUUM ANALYZE dnc_numbers");
    const scrub = await timed(`scrub against ${fmt(n)} (btree)`, () => db.query<{ clear: number }>(
      `SELECT count(*)::bigint AS clear FROM customer_snapshots c
        WHERE c.phone IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dnc_numbers d WHERE d.phone = substr(c.phone, 3)::bigint AND d.listed)`));
    const phones = people * 0.6;
    rows.push(`| scrub only, bigint btree (${await size("dnc_numbers")}) | ${fmt(phones)} phones | | ${fmt(n)} | ${scrub.sec.toFixed(1)} | ${fmt(scrub.result.rows[0]!.clear)} clear | ${fmt(phones / scrub.sec)} phones/s |`);
  };

  for (const [label, campaign, channel] of [["publish recent-bookers (email)", "recent-bookers", "email"], ["publish capped e-mail campaign (1 in 7 days)", "bench-capped", "email"]] as const) {
    const p = await timed(label, () => Audience.publishAudience(deps, { campaign, channel, asOf: AS_OF }));
    rows.push(`| ${label} | ${fmt(people)} | ${fmt(tp)} | | ${p.sec.toFixed(1)} | ${fmt(p.result.rows)} | ${fmt(people / p.sec)} people/s |`);
    console.error(JSON.stringify(p.result.waterfall), JSON.stringify(p.result.timings));
  }
  await registryRow(Math.round(registry / 5));
  await registryRow(registry);
  const call = await timed("publish call campaign (registry scrub)", () => Audience.publishAudience(deps, { campaign: "bench-call", channel: "call", asOf: AS_OF }));
  rows.push(`| publish call campaign (DNC scrub in the rules) | ${fmt(people)} | ${fmt(tp)} | ${fmt(registry)} | ${call.sec.toFixed(1)} | ${fmt(call.result.rows)} | ${fmt(people / call.sec)} people/s |`);
  const again = await timed("publish recent-bookers again (same day)", () => Audience.publishAudience(deps, { campaign: "recent-bookers", channel: "email", asOf: AS_OF }));
  rows.push(`| publish recent-bookers again, same day (touchpoints already there) | ${fmt(people)} | ${fmt(tp)} | | ${again.sec.toFixed(1)} | ${fmt(again.result.rows)} | ${fmt(people / again.sec)} people/s |`);

  // The alternative representation: one bit per number, in blocks of 8,192 numbers (1 KB), for
  // 305 area codes x the 8M numbers of exchanges 200-999 (2.4 billion numbers), about half the bits set
  // (~1.2 billion listed: about 5x the real registry).
  await timed("build bitmap registry (305 area codes)", () => db.query(`
    CREATE UNLOGGED TABLE dnc_bitmap_blocks (block bigint PRIMARY KEY, bits bit(8192) NOT NULL);
    INSERT INTO dnc_bitmap_blocks
      SELECT (ac::bigint * 10000000 + 2000000) / 8192 + k, ('x' || repeat(md5(ac::text || ':' || k), 64))::bit(8192)
      FROM generate_series(201, 505) ac, generate_series(0, (8000000 / 8192)) k ON CONFLICT DO NOTHING;`));
  await db.query("VACUUM ANALYZE dnc_bitmap_blocks");
  const bitmap = await timed("scrub against the bitmap", () => db.query<{ clear: number }>(
    `SELECT count(*)::bigint AS clear FROM customer_snapshots c
       LEFT JOIN dnc_bitmap_blocks b ON b.block = substr(c.phone, 3)::bigint / 8192
      WHERE c.phone IS NOT NULL AND (b.bits IS NULL OR substring(b.bits FROM (substr(c.phone, 3)::bigint % 8192)::int + 1 FOR 1) = B'0')`));
  rows.push(`| scrub only, bitmap blocks (${await size("dnc_bitmap_blocks")}) | ${fmt(people * 0.6)} phones | | 2.4 billion numbers covered, ~1.2 billion listed | ${bitmap.sec.toFixed(1)} | ${fmt(bitmap.result.rows[0]!.clear)} clear | ${fmt(people * 0.6 / bitmap.sec)} phones/s |`);
  rows.push("", `sizes: customer_snapshots ${await size("customer_snapshots")}, touchpoints ${await size("touchpoints")}, bookings ${await size("bookings")}, consent_events ${await size("consent_events")}`);
  console.log(rows.join("\n"));
} finally {
  await platform.close();
  if (platform.pg?.dataDir) rmSync(platform.pg.dataDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
}
