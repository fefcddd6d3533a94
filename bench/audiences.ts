/**
 * Audience publish at scale and the do-not-call scrub, on the local platform's embedded
 * PostgreSQL. The data set is built in SQL with generate_series (no files), once:
 *
 *   bench/priority.sh npx tsx bench/audiences.ts [--people 10000000] [--touchpoints 50000000] [--registry 50000000]
 *
 * Measures: recent-bookers (e-mail) publish, a capped e-mail campaign (the cap reads the
 * touchpoints), a mail campaign (golden addresses), a call campaign (scrubs the registry) — each
 * end to end (rules, waterfall, CSV to the S3-compatible outbox, touchpoints) — with 1 customer
 * in 5 linked to a golden record (half of those persons holding two customer ids); loading the
 * registry into dnc_numbers with the bitmap maintained by its triggers (and one slice without
 * them, for the cost); and the scrub alone against the btree (dnc_numbers) and the bitmap the rules
 * read (dnc_bitmap) at 1/5 and all of --registry numbers, and a synthetic bitmap at five times the
 * national size (305 area codes, 2.4 billion numbers, about half listed).
 * CPU seconds are this process's plus every PostgreSQL process's (backends and background workers).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Audience, createLogger } from "@leadpipe/core";
import { s3Store } from "@leadpipe/core/adapters/s3";
import { LocalPlatform } from "../packages/local/src/platform";

const { values } = parseArgs({
  options: {
    people: { type: "string", default: "10000000" },
    touchpoints: { type: "string", default: "50000000" },
    registry: { type: "string", default: "50000000" },
  },
});
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

/** CPU seconds so far of this process and of the PostgreSQL server (postmaster, its children, and the children it reaped). */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  let ticks = 0;
  const postmaster = platform.pg?.dataDir
    ? Number(readFileSync(path.join(platform.pg.dataDir, "postmaster.pid"), "utf8").split("\n")[0])
    : NaN;
  if (Number.isFinite(postmaster)) {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      } catch {
        continue;
      }
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // f[0] = state (field 3)
      const [ppid, utime, stime, cutime, cstime] = [f[1], f[11], f[12], f[13], f[14]].map(Number) as [
        number,
        number,
        number,
        number,
        number,
      ];
      if (Number(entry) === postmaster) ticks += utime + stime + cutime + cstime;
      else if (ppid === postmaster) ticks += utime + stime;
    }
  }
  return (own.user + own.system) / 1e6 + ticks / 100;
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<{ sec: number; cpu: number; result: T }> {
  const t = Date.now();
  const c = cpuSeconds();
  const result = await fn();
  const sec = (Date.now() - t) / 1000;
  const cpu = cpuSeconds() - c;
  console.error(`${label}: ${sec.toFixed(1)} s wall, ${cpu.toFixed(1)} CPU s`);
  return { sec, cpu, result };
}

async function size(table: string): Promise<string> {
  const { rows: r } = await db.query<{ s: string }>(`SELECT pg_size_pretty(pg_total_relation_size('${table}')) AS s`);
  return r[0]!.s;
}

// The numbers customers and the registry are drawn from: 305 area codes (201-505) x exchanges 200-999
// (8M numbers each), 2.44 billion numbers, like the national-size bitmap below. x in 0..NUMBERS-1.
const NUMBERS = 305 * 8_000_000;
try {
  await db.query("SET max_parallel_workers_per_gather = 0");
  await db.query(`CREATE FUNCTION nanp(x bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS
    $$ SELECT (201 + x / 8000000) * 10000000 + 2000000 + x % 8000000 $$`);
  // The people: one snapshot each (60% with a phone), e-mail consent (85% OPT_IN), a booking each
  // in the last 400 days (80% completed), 1 in 20 suppressed, 1 in 50 opted out.
  await timed(`load ${fmt(people)} customers, consents, bookings, suppressions, opt-outs`, async () => {
    await db.query(
      `INSERT INTO customer_snapshots (customer_id, updated_at, email, phone, home_state, loyalty_tier, is_active, import_id, source_row, src_seq)
      SELECT 'C' || lpad(i::text, 8, '0'), timestamptz '2026-01-01' + (i % 300) * interval '1 day',
             CASE WHEN i % 10 <> 0 THEN 'p' || i || '@example.com' END,
             CASE WHEN i % 5 < 3 THEN '+1' || nanp((i::bigint * 104729) % ${NUMBERS})::text END,
             (ARRAY['TX','CA','NY','WA','OR'])[1 + i % 5], (ARRAY['bronze','silver','gold'])[1 + i % 3], i % 10 <> 1,
             gen_random_uuid(), i, i FROM generate_series(1, $1) i`,
      [people],
    );
    await db.query(
      `INSERT INTO consent_events (customer_id, channel, event_ts, consent_status, import_id, source_row, src_seq)
      SELECT 'C' || lpad(i::text, 8, '0'), 'email', timestamptz '2026-02-01' + (i % 200) * interval '1 hour',
             CASE WHEN i % 20 < 17 THEN 'OPT_IN' ELSE 'OPT_OUT' END, gen_random_uuid(), i, i FROM generate_series(1, $1) i`,
      [people],
    );
    await db.query(
      `INSERT INTO bookings (booking_id, customer_id, booking_date, booking_amount, booking_status, import_id, source_row, src_seq)
      SELECT 'B' || i, 'C' || lpad(i::text, 8, '0'), date '2026-11-20' - (i % 400), 20 + (i % 2000), CASE WHEN i % 5 <> 0 THEN 'COMPLETED' ELSE 'CANCELLED' END,
             gen_random_uuid(), i, i FROM generate_series(1, $1) i`,
      [people],
    );
    await db.query(
      `INSERT INTO suppressions (customer_id, reason, suppressed_at, expires_at, import_id, source_row, src_seq)
      SELECT 'C' || lpad(i::text, 8, '0'), 'complaint', timestamptz '2026-06-01', CASE WHEN i % 40 = 0 THEN timestamptz '2027-01-01' END,
             gen_random_uuid(), i, i FROM generate_series(3, $1, 20) i`,
      [people],
    );
    await db.query(
      `INSERT INTO opt_outs (channel, value, opted_out_at, reason, origin)
      SELECT 'email', 'p' || i || '@example.com', timestamptz '2026-07-01', 'bench', 'internal' FROM generate_series(7, $1, 50) i`,
      [people],
    );
  });
  // Golden records for 1 customer in 5 (i % 5 = 4), each holding that customer's e-mail and a postal
  // address; those with i % 10 = 4 also hold the e-mail of customer i + 1 (one person, two customer ids).
  await timed(`load ${fmt(people / 5)} golden records`, async () => {
    await db.query(
      `INSERT INTO persons (person_id, first_name, last_name, address_line1, city, state, zip5)
      SELECT i, 'First' || i, 'Last' || i, (i % 9000 + 1) || ' MAIN ST', 'SPRINGFIELD', 'IL', lpad((i % 99999)::text, 5, '0')
      FROM generate_series(4, $1, 5) i`,
      [people],
    );
    await db.query(
      `INSERT INTO person_records (record_id, source_kind, source_key, import_id, source_row, src_seq, person_id)
      SELECT i, 'bench', i::text, '00000000-0000-4000-8000-000000000000', i, i, i FROM generate_series(4, $1, 5) i`,
      [people],
    );
    await db.query(
      `INSERT INTO person_emails (person_id, email, verified, record_id, last_seq)
      SELECT i, 'p' || (i + k) || '@example.com', false, i, 0 FROM generate_series(4, $1, 5) i, generate_series(0, 1) k
      WHERE k = 0 OR i % 10 = 4`,
      [people],
    );
  });
  // Touchpoints: every person touched touches/people times in the 60 days before as-of, on rotating
  // channels; unique by construction, loaded without the table's indexes, which are built after.
  await timed(`load ${fmt(touches)} touchpoints (and index them)`, () =>
    db.query(`
    ALTER TABLE touchpoints DROP CONSTRAINT touchpoints_pkey;
    DROP INDEX touchpoints_customer_channel;
    DROP INDEX touchpoints_channel_day;
    INSERT INTO touchpoints (campaign, channel, customer_id, touched_on)
      SELECT 'history-' || (k % 7), (ARRAY['email','call','sms','mail'])[1 + k % 4], 'C' || lpad((1 + i % ${people})::text, 8, '0'),
             date '2026-11-20' - (1 + (k * 12 + i % 12) % 60)
      FROM generate_series(0, ${touches} - 1) i, LATERAL (SELECT i / ${people} AS k) kk;
    ALTER TABLE touchpoints ADD PRIMARY KEY (campaign, channel, customer_id, touched_on);
    CREATE INDEX touchpoints_customer_channel ON touchpoints (customer_id, channel, touched_on);
    CREATE INDEX touchpoints_channel_day ON touchpoints (channel, touched_on);`),
  );
  const tp = (await db.query<{ n: number }>("SELECT count(*)::bigint AS n FROM touchpoints")).rows[0]!.n;
  await db.query("ANALYZE");
  await db.query(
    `INSERT INTO campaigns (name, channels) VALUES ('bench-capped', ARRAY['email']), ('bench-call', ARRAY['call']), ('bench-mail', ARRAY['mail'])`,
  );
  await db.query(`INSERT INTO campaign_frequency_caps VALUES ('bench-capped', 'email', 1, 7)`);

  const deps = {
    pool: db,
    store: s3Store(platform.s3),
    settings: { bucket: platform.bucket },
    log: createLogger({}, () => undefined),
  };
  const cpuNote = (t: { sec: number; cpu: number }) => `${t.cpu.toFixed(0)} (${(t.cpu / t.sec).toFixed(2)} cores)`;
  rows.push(
    `| what | people | touchpoints | registry | seconds | CPU seconds | audience rows | people/s (wall) | people per CPU-s | phases (s) |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|---|`,
  );
  const publishRow = async (label: string, campaign: string, channel: string, registry = "") => {
    const p = await timed(label, () => Audience.publishAudience(deps, { campaign, channel, asOf: AS_OF }));
    const phases = Object.entries(p.result.timings)
      .map(([k, v]) => `${k.replace(/_ms$/, "")} ${(v / 1000).toFixed(0)}`)
      .join(", ");
    rows.push(
      `| ${label} | ${fmt(people)} | ${fmt(tp)} | ${registry} | ${p.sec.toFixed(1)} | ${cpuNote(p)} | ${fmt(p.result.rows)} | ${fmt(people / p.sec)} | ${fmt(people / p.cpu)} | ${phases} |`,
    );
    console.error(JSON.stringify(p.result.waterfall));
  };
  await publishRow("publish recent-bookers (e-mail)", "recent-bookers", "email");
  await publishRow("publish capped e-mail campaign (1 in 7 days: reads the touchpoints)", "bench-capped", "email");
  await publishRow("publish mail campaign (golden addresses)", "bench-mail", "mail");

  // The registry: dnc_numbers (the source of truth) with the bitmap kept by its triggers, loaded in
  // slices of 5M numbers like large full files; one slice without the triggers, for their cost.
  // The scrubs alone run on one connection with the settings publishAudience uses (work_mem 256MB) and no parallel workers.
  const scrub = await db.connect();
  await scrub.query("SET work_mem = '256MB'");
  await scrub.query("SET max_parallel_workers_per_gather = 0");
  const scrubRows: string[] = [
    `| registry | dnc_numbers (btree) | dnc_bitmap | load (bitmap maintained), since the previous row | scrub, btree | scrub, bitmap (the rules) |`,
    `|---:|---:|---:|---:|---:|---:|`,
  ];
  const phones = people * 0.6;
  let loaded = 0;
  let triggerCost = "";
  const SLICE = Math.min(5_000_000, Math.round(registry / 5));
  const registryRow = async (n: number) => {
    if (!triggerCost) {
      // What the bitmap maintenance costs: the first slice into a copy of dnc_numbers without the triggers, then into dnc_numbers.
      await db.query("CREATE TABLE bench_dnc_plain (LIKE dnc_numbers INCLUDING ALL)");
      const plain = await timed("  one slice into a copy of dnc_numbers without the bitmap triggers", () =>
        insertNumbers("bench_dnc_plain", 0, SLICE),
      );
      await db.query("DROP TABLE bench_dnc_plain");
      const maintained = await timed("  the same slice into dnc_numbers, bitmap maintained", () =>
        insertNumbers("dnc_numbers", 0, SLICE),
      );
      loaded = SLICE;
      triggerCost =
        `Loading ${fmt(SLICE)} numbers in one statement: ${plain.sec.toFixed(1)} s (${plain.cpu.toFixed(1)} CPU s) into a copy of ` +
        `dnc_numbers without the triggers, ${maintained.sec.toFixed(1)} s (${maintained.cpu.toFixed(1)} CPU s) into dnc_numbers with the bitmap maintained.`;
    }
    const load = await timed(`load registry to ${fmt(n)} numbers (bitmap maintained)`, async () => {
      for (; loaded < n; loaded = Math.min(n, loaded + SLICE))
        await insertNumbers("dnc_numbers", loaded, Math.min(n, loaded + SLICE));
    });
    await db.query("VACUUM ANALYZE dnc_numbers");
    await db.query("VACUUM ANALYZE dnc_bitmap");
    const btree = await timed(`scrub against ${fmt(n)} (btree)`, () =>
      scrub.query<{ clear: number }>(
        `SELECT count(*)::bigint AS clear FROM customer_snapshots c
        WHERE c.phone IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dnc_numbers d WHERE d.phone = substr(c.phone, 3)::bigint AND d.listed)`,
      ),
    );
    const bitmap = await timed(`scrub against ${fmt(n)} (bitmap, as the rules read it)`, () =>
      scrub.query<{ clear: number }>(
        `SELECT count(*)::bigint AS clear FROM customer_snapshots c
         LEFT JOIN dnc_bitmap b ON b.block = (substr(c.phone, 3)::bigint / 8192)::int
        WHERE c.phone IS NOT NULL AND (b.bits IS NULL OR get_bit(b.bits, (substr(c.phone, 3)::bigint % 8192)::int) = 0)`,
      ),
    );
    if (Number(btree.result.rows[0]!.clear) !== Number(bitmap.result.rows[0]!.clear)) {
      throw new Error(
        `the bitmap scrub disagrees with the btree: ${bitmap.result.rows[0]!.clear} vs ${btree.result.rows[0]!.clear} clear`,
      );
    }
    scrubRows.push(
      `| ${fmt(n)} | ${await size("dnc_numbers")} | ${await size("dnc_bitmap")} | ${load.sec.toFixed(1)} s, ${cpuNote(load)} CPU s | ` +
        `${btree.sec.toFixed(1)} s, ${fmt(phones / btree.sec)} phones/s, ${fmt(phones / btree.cpu)}/CPU-s | ` +
        `${bitmap.sec.toFixed(1)} s, ${fmt(phones / bitmap.sec)} phones/s, ${fmt(phones / bitmap.cpu)}/CPU-s (${fmt(Number(bitmap.result.rows[0]!.clear))} clear) |`,
    );
  };
  // 7919 is prime to NUMBERS: i -> i * 7919 mod NUMBERS gives distinct numbers, spread over every exchange.
  const insertNumbers = (table: string, from: number, to: number) =>
    db.query(
      `INSERT INTO ${table} (phone, listed, import_id, src_seq)
      SELECT nanp((i::bigint * 7919) % ${NUMBERS}), true, '00000000-0000-4000-8000-000000000000', 0
      FROM generate_series($1::bigint, $2::bigint - 1) i`,
      [from, to],
    );
  await registryRow(Math.round(registry / 5));
  await registryRow(registry);
  const differences = await timed("dnc_bitmap_differences() (bitmap = dnc_numbers?)", () =>
    db.query<{ n: number }>("SELECT count(*)::int AS n FROM dnc_bitmap_differences()"),
  );
  if (differences.result.rows[0]!.n !== 0)
    throw new Error(`the bitmap differs from dnc_numbers in ${differences.result.rows[0]!.n} blocks`);
  await publishRow("publish call campaign (DNC scrub of 6M phones in the rules)", "bench-call", "call", fmt(registry));

  // Five times the national registry as one bit per number, in blocks of 8,192 numbers (1 KB): 305
  // area codes x the 8M numbers of exchanges 200-999 (2.4 billion numbers), about half the bits set.
  await timed("build bitmap registry (305 area codes)", () =>
    db.query(`
    CREATE UNLOGGED TABLE dnc_bitmap_national (block int PRIMARY KEY, bits bit(8192) NOT NULL);
    INSERT INTO dnc_bitmap_national
      SELECT (ac::bigint * 10000000 + 2000000) / 8192 + k, ('x' || repeat(md5(ac::text || ':' || k), 64))::bit(8192)
      FROM generate_series(201, 505) ac, generate_series(0, (8000000 / 8192)) k ON CONFLICT DO NOTHING;`),
  );
  await db.query("VACUUM ANALYZE dnc_bitmap_national");
  const national = await timed("scrub against the national-size bitmap", () =>
    scrub.query<{ clear: number }>(
      `SELECT count(*)::bigint AS clear FROM customer_snapshots c
       LEFT JOIN dnc_bitmap_national b ON b.block = (substr(c.phone, 3)::bigint / 8192)::int
      WHERE c.phone IS NOT NULL AND (b.bits IS NULL OR get_bit(b.bits, (substr(c.phone, 3)::bigint % 8192)::int) = 0)`,
    ),
  );
  scrubRows.push(
    `| 2.4 billion numbers covered, ~1.2 billion listed (synthetic) | | ${await size("dnc_bitmap_national")} | | | ` +
      `${national.sec.toFixed(1)} s, ${fmt(phones / national.sec)} phones/s, ${fmt(phones / national.cpu)}/CPU-s |`,
  );
  rows.push(
    "",
    ...scrubRows,
    "",
    triggerCost,
    `bitmap = dnc_numbers checked at ${fmt(registry)} numbers in ${differences.sec.toFixed(1)} s`,
    "",
    `sizes: customer_snapshots ${await size("customer_snapshots")}, touchpoints ${await size("touchpoints")}, bookings ${await size("bookings")}, consent_events ${await size("consent_events")}`,
  );
  scrub.release();
  console.log(rows.join("\n"));
} finally {
  await platform.close();
  if (platform.pg?.dataDir) rmSync(platform.pg.dataDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
}
