/**
 * The reporting layer at scale, on an embedded PostgreSQL of its own. The data set is built in SQL
 * with generate_series (no files), with the reporting triggers off (a bulk load), then:
 *
 *   npx tsx bench/reports.ts [--scale 1] [--mail-days 330]   (scale 1: 10M mortgages, 10M pieces, 8M deliveries, 2M calls, 200k leads)
 *
 * 1. the nightly full refresh (every rollup rebuilt from the core tables, every materialized view);
 * 2. every report read whole as `leadpipe report show NAME` reads it (COPY into arrays, and printed as
 *    --json) against row objects (as it read before), interleaved, 30 times: p50 / p95; filtered too;
 * 3. a day's imports with the triggers on (50k mortgages upserted, their 50k barcode assignments,
 *    pieces and production rows, 40k deliveries of the last ten mail dates, 10k calls of which 1k
 *    interested and their leads, 1k waiting leads handed off, a file with 500 rejected rows), each
 *    statement timed, and the same 50k mortgages with the triggers off (rolled back) for the
 *    triggers' cost;
 * 4. the refresh after that day (Reports.refreshPending, what finalize runs). BENCH_EXPLAIN=1 logs
 *    the plan of each of its statements over 100 ms with row counts and buffers (auto_explain with
 *    analyze on and timing off, so the refresh measured is the one explained, at little extra cost).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createPool, migrate, Reports } from "@leadpipe/core";
import { copyTable } from "../packages/core/src/copy";
import { renderShown } from "../packages/local/src/commands/report";
import { startPostgres } from "../packages/local/src/postgres";
import { BENCH_IMPORT, buildReportData, type MailLayout, reportDataSize } from "./reports-data";

const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "1" },
    runs: { type: "string", default: "30" },
    "mail-days": { type: "string", default: "330" },
    layout: { type: "string", default: "by-date" },
  },
});
const scale = Number(values.scale);
const runs = Number(values.runs);
const N = reportDataSize(scale);
/**
 * Mail dates the pieces are spread over. At scale 1, 330 dates give 30k pieces per date, about a
 * day's mail; a smaller scale keeps that density with fewer dates (--mail-days 20 at --scale 0.05),
 * so the refresh after a day rebuilds dates as full as production ones.
 */
const MAIL_DAYS = Number(values["mail-days"]);
/** --layout: where a mail date's pieces sit (reports-data.ts's MailLayout; "by-date" as production has them). */
const layout = values.layout as MailLayout;
if (layout !== "by-date" && layout !== "scattered")
  throw new Error(`--layout must be by-date or scattered, not "${values.layout}"`);
const PER_DAY = Math.floor(N.pieces / MAIL_DAYS);
const DAY = 50_000;
const IMPORT = BENCH_IMPORT;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const secs = (ms: number) => (ms / 1000).toFixed(2);

const tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-bench-reports-"));
const pg = await startPostgres(path.join(tmp, "pg"));
const pool = createPool(pg.url, 4);
if (process.env.BENCH_EXPLAIN) {
  // every connection: the plans of slow statements, nested ones (inside the refresh functions) too, sent to the client
  pool.on("connect", (c) => {
    c.on("notice", (n) => process.stderr.write(`${n.message}\n`));
    void c
      .query(`LOAD 'auto_explain'; SET auto_explain.log_min_duration = 100; SET auto_explain.log_analyze = on;
              SET auto_explain.log_timing = off; SET auto_explain.log_buffers = on; SET auto_explain.log_nested_statements = on;
              SET auto_explain.log_level = notice`)
      .catch((e: Error) => process.stderr.write(`auto_explain: ${e.message}\n`));
  });
}
// a connection lost (the disk full, the server gone) ends the run through the finally below, which
// removes the database, rather than as an unhandled 'error' event that leaves it behind
pool.on("error", (err) => process.stderr.write(`pool: ${err.message}\n`));
const out: string[] = [];
const row = (what: string, value: string) => {
  out.push(`| ${what} | ${value} |`);
  process.stderr.write(`${what}: ${value}\n`);
};

const step = (what: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${what}\n`);

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

try {
  await migrate(pool);
  const client = await pool.connect();
  const [, buildMs] = await timed(async () => {
    await buildReportData(client, N, MAIL_DAYS, step, IMPORT, layout);
  });
  const leads = (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM leads")).rows[0]!.n;
  client.release();
  out.push(
    `Data set (scale ${scale}): ${fmt(N.mortgages)} mortgages, ${fmt(N.pieces)} pieces over ${MAIL_DAYS} mail dates (${values.layout}), ` +
      `${fmt(N.deliveries)} deliveries, ${fmt(N.calls)} calls, ${fmt(leads)} leads; built in ${secs(buildMs)} s.`,
    "",
  );
  out.push("| measure | value |", "|---|---|");

  step("full refresh");
  const [, fullMs] = await timed(() => Reports.refreshAll(pool, { full: true }));
  row("nightly full refresh (all rollups rebuilt, every materialized view)", `${secs(fullMs)} s`);
  const { rows: parts } = await pool.query<{ report: string; duration_ms: number }>(
    "SELECT report, duration_ms FROM report_refreshes ORDER BY duration_ms DESC LIMIT 20",
  );
  row(
    "of which, slowest parts (the rollups are one transaction)",
    parts.map((r) => `${r.report} ${r.duration_ms} ms`).join(", "),
  );

  // Every report read whole, four ways interleaved on one pooled connection (the CLI adds its
  // read-only connection, the same for each): row objects as node-postgres builds them (how
  // `report show` read before, and the measure of the sections before), and those objects printed
  // as --json was; the rows as `report show` reads them now (COPY text into arrays of values), and
  // printed as --json. Then filtered on the first column, as the console asks (row objects).
  const reader = await pool.connect();
  const asOf = new Date();
  try {
    for (const r of Reports.reports) {
      const q = Reports.query(r, []);
      const columns = r.columns.map((c) => c.name);
      const ways = {
        objects: () => reader.query(q.sql).then((x) => x.rows.length),
        "objects printed": () =>
          reader.query(q.sql).then((x) => {
            let text = "";
            for (const o of x.rows) text += JSON.stringify({ ...o, data_as_of: asOf }) + "\n";
            return text.length;
          }),
        arrays: () => copyTable(reader, q.sql, 0).then((x) => x.rows.length),
        "arrays printed": () =>
          copyTable(reader, q.sql, 0).then(
            (x) => renderShown({ report: r, dataAsOf: asOf, columns, rows: x.rows }, "json").length,
          ),
      };
      const times = new Map(Object.keys(ways).map((k) => [k, [] as number[]]));
      let rows = 0;
      const order = Object.entries(ways);
      for (let i = 0; i < runs; i++) {
        // each way first in turn: the garbage one way leaves is collected during the others alike
        for (const [k, read] of [...order.slice(i % order.length), ...order.slice(0, i % order.length)]) {
          const [n, ms] = await timed(read);
          if (k === "objects") rows = n;
          times.get(k)!.push(ms);
        }
      }
      const pp = (k: string) => {
        const t = times.get(k)!.sort((a, b) => a - b);
        const at = (f: number) => t[Math.min(t.length - 1, Math.ceil(f * t.length) - 1)]!.toFixed(1);
        return `${at(0.5)} / ${at(0.95)}`;
      };
      // and filtered as the console would ask: --where on the first column, the first row's value
      const key = r.orderBy[0]!;
      const {
        rows: [sample],
      } = await pool.query(`${q.sql} LIMIT 1`);
      const f = Reports.query(r, [{ column: key, value: sample?.[key] == null ? null : String(sample[key]) }]);
      const ftimes: number[] = [];
      let frows = 0;
      for (let i = 0; i < runs; i++) {
        const [res, ms] = await timed(() => pool.query(f.sql, f.params));
        frows = res.rowCount ?? 0;
        ftimes.push(ms);
      }
      ftimes.sort((a, b) => a - b);
      const fp = (x: number) => ftimes[Math.min(ftimes.length - 1, Math.ceil(x * ftimes.length) - 1)]!;
      row(
        `report show ${r.name}, all ${fmt(rows)} rows p50 / p95: objects; objects printed (--json before); ` +
          `arrays (COPY); arrays printed (--json now); --where ${key}= (${fmt(frows)} rows)`,
        `${pp("objects")}; ${pp("objects printed")}; ${pp("arrays")}; ${pp("arrays printed")}; ` +
          `${fp(0.5).toFixed(1)} / ${fp(0.95).toFixed(1)} ms`,
      );
    }
  } finally {
    reader.release();
  }

  // a day's imports, triggers on
  const first = N.mortgages + 1;
  const upsertMortgages = (start: number) =>
    `INSERT INTO mortgages AS m (mortgage_id, partner, property_state, property_zip5, loan_amount, closing_date, import_id, source_row, src_seq)
     SELECT 'M' || n, chr(65 + n % 4), 'TX', '75201', 200000 + n % 1000, date '2026-11-20', '${IMPORT}', n, n + 100000000
     FROM generate_series(${start}, ${start + DAY - 1}) n
     ON CONFLICT (mortgage_id) DO UPDATE SET loan_amount = excluded.loan_amount, src_seq = excluded.src_seq WHERE excluded.src_seq > m.src_seq`;
  const [, offMs] = await timed(async () => {
    const c = await pool.connect();
    try {
      await c.query("BEGIN");
      await c.query("SET LOCAL session_replication_role = replica");
      await c.query(upsertMortgages(first));
      await c.query("ROLLBACK");
    } finally {
      c.release();
    }
  });
  const [, onMs] = await timed(() => pool.query(upsertMortgages(first)));
  row(`${fmt(DAY)} mortgages upserted: triggers off / on`, `${offMs.toFixed(0)} / ${onMs.toFixed(0)} ms`);
  // the day's barcode map: an assignment for each of the day's pieces (a mortgage file then links them)
  const [, mapMs] = await timed(() =>
    pool.query(
      `INSERT INTO barcode_assignments (tracking_code, partner, mortgage_id, imb_raw, import_id, source_row, src_seq)
       SELECT lpad(n::text, 20, '0'), chr(65 + n % 4), 'M' || n, 'raw', $1, n, n FROM generate_series($2::int, $3::int) n`,
      [IMPORT, first, first + DAY - 1],
    ),
  );
  row(`${fmt(DAY)} barcode assignments (triggers on)`, `${mapMs.toFixed(0)} ms`);
  const [, piecesMs] = await timed(async () => {
    await pool.query(
      `INSERT INTO mail_pieces (tracking_code, partner, mortgage_id, import_id, source_row, src_seq)
       SELECT lpad(n::text, 20, '0'), chr(65 + n % 4), 'M' || n, $1, n, n FROM generate_series($2::int, $3::int) n`,
      [IMPORT, first, first + DAY - 1],
    );
    await pool.query(
      `INSERT INTO mail_piece_production (tracking_code, partner, mail_date, mailer_version, piece_type, campaign, import_id, source_row, src_seq)
       SELECT lpad(n::text, 20, '0'), chr(65 + n % 4), date '2026-01-01' + ${MAIL_DAYS}, CASE WHEN n % 2 = 0 THEN 'A' ELSE 'B' END,
              'letter', 'MP-2026-11', $1, n, n FROM generate_series($2::int, $3::int) n`,
      [IMPORT, first, first + DAY - 1],
    );
  });
  row(`${fmt(DAY)} pieces and their production rows (triggers on)`, `${piecesMs.toFixed(0)} ms`);
  // the piece a call of the day is about: one of the last twenty mail dates'
  const recent = Math.min(20, MAIL_DAYS);
  const lateCall =
    layout === "scattered"
      ? `${MAIL_DAYS} * ((n * 37) % ${PER_DAY - 1}) + ${MAIL_DAYS - recent} + n % ${recent}`
      : `${(MAIL_DAYS - recent) * PER_DAY} + 1 + (n * 37) % ${recent * PER_DAY}`;
  const [, feedMs] = await timed(async () => {
    // 40k deliveries of pieces mailed in the last ten mail dates, not delivered yet; 10k calls about pieces of the last twenty
    await pool.query(
      `WITH p AS (
         SELECT tracking_code, partner, mail_date FROM mail_piece_production m
         WHERE mail_date >= date '2026-01-01' + ${Math.max(0, MAIL_DAYS - 10)} AND mail_date < date '2026-01-01' + ${MAIL_DAYS}
           AND NOT EXISTS (SELECT 1 FROM mail_piece_deliveries d WHERE d.tracking_code = m.tracking_code) LIMIT 40000
       ), e AS (
         INSERT INTO delivery_events (tracking_code, partner, event_at, event_code, status, import_id, source_row, src_seq)
         SELECT tracking_code, partner, mail_date + interval '4 days 15 hours', '918', 'applied', $1, 1, 1 FROM p RETURNING *
       )
       INSERT INTO mail_piece_deliveries (tracking_code, partner, delivered_at, event_code, event_id, import_id, source_row)
       SELECT tracking_code, partner, event_at, event_code, id, import_id, source_row FROM e`,
      [IMPORT],
    );
    await pool.query(
      `INSERT INTO call_responses (caller_phone, called_at, disposition, lookup_tracking_code, tracking_code, mortgage_id, partner,
                                   match_method, matched_at, import_id, source_row, src_seq)
       SELECT '+1' || (3122000000 + n)::text, timestamptz '2026-11-27 10:00Z' + n * interval '1 second',
              CASE WHEN n % 10 = 0 THEN 'interested' ELSE 'callback' END,
              lpad(k::text, 20, '0'), lpad(k::text, 20, '0'), 'M' || k, chr(65 + k % 4), 'tracking_code', now(), $1, n, n
       FROM generate_series(1, 10000) n,
            LATERAL (SELECT ${lateCall} AS k) x`,
      [IMPORT],
    );
  });
  row("40k deliveries and 10k calls (triggers on)", `${feedMs.toFixed(0)} ms`);
  const [, leadsMs] = await timed(async () => {
    // the day's interested calls become leads; 1,000 waiting leads are handed off; a file rejects 500 rows
    await pool.query(
      `INSERT INTO leads (caller_phone, tracking_code, mortgage_id, partner, interested_at, first_response_id)
       SELECT caller_phone, tracking_code, mortgage_id, partner, called_at, id FROM call_responses
       WHERE caller_phone LIKE '+1312%' AND disposition = 'interested'`,
    );
    await pool.query(
      `INSERT INTO lead_handoffs (day, file_key, handed_off_at, leads, sha256)
       VALUES ('2026-11-27', 'outbox/leads/2026-11-27', '2026-11-27 22:00Z', 1000, '-') ON CONFLICT (day) DO NOTHING`,
    );
    await pool.query(
      `INSERT INTO lead_handoff_items (lead_id, day, file_key, handed_off_at, cells)
       SELECT id, '2026-11-27', 'outbox/leads/2026-11-27', '2026-11-27 22:00Z', '{}' FROM leads l
       WHERE NOT EXISTS (SELECT 1 FROM lead_handoff_items h WHERE h.lead_id = l.id) ORDER BY id DESC LIMIT 1000`,
    );
    const {
      rows: [imp],
    } = await pool.query<{ id: string }>(
      `INSERT INTO imports (bucket, object_key, event_key, file_name, source, partner, status, rows_read, accepted, rejected)
       VALUES ('b', 'k-day', 'e-day', 'f-day', 'partner-b-mortgages', 'B', 'COMPLETE_WITH_ERRORS', 50000, 49500, 500) RETURNING id`,
    );
    await pool.query(
      `INSERT INTO import_rejects (import_id, chunk_index, row_number, error_type, field_name, field_value, error_message)
       SELECT $1, 0, n, 'validation', (ARRAY['imb', 'loan_amount', 'closing_date'])[1 + n % 3], 'x', 'bad value'
       FROM generate_series(1, 500) n`,
      [imp!.id],
    );
  });
  row("1k leads, 1k hand-offs, a file with 500 rejected rows (triggers on)", `${leadsMs.toFixed(0)} ms`);
  const {
    rows: [dirty],
  } = await pool.query(
    `SELECT (SELECT count(DISTINCT tracking_code) FROM report_dirty_pieces)::int AS pieces,
            (SELECT count(*) FROM report_mortgage_deltas)::int AS deltas,
            (SELECT count(DISTINCT tracking_code) FROM report_dirty_barcodes)::int AS barcodes,
            (SELECT count(*) FROM (SELECT DISTINCT * FROM report_dirty_lead_days) d)::int AS lead_days`,
  );
  await Reports.markStale(pool, ["mortgages", "mail_production", "deliveries", "call_responses"]);
  const [after, afterMs] = await timed(() => Reports.refreshPending(pool));
  row(
    `refresh after the day (${fmt(dirty.pieces)} dirty pieces, ${dirty.deltas} mortgage deltas, ` +
      `${fmt(dirty.barcodes)} dirty barcodes, ${dirty.lead_days} lead days, ${after.views.length} views)`,
    `${secs(afterMs)} s`,
  );
  const { rows: perView } = await pool.query<{ report: string; duration_ms: number }>(
    "SELECT report, duration_ms FROM report_refreshes WHERE data_as_of > now() - interval '1 hour' ORDER BY duration_ms DESC LIMIT 20",
  );
  row("of which, slowest parts", perView.map((r) => `${r.report} ${r.duration_ms} ms`).join(", "));
  const {
    rows: [detail],
  } = await pool.query("SELECT detail FROM report_refreshes WHERE report = 'funnel'");
  row("the rollups' transaction (its detail)", JSON.stringify(detail?.detail));
  process.stdout.write(out.join("\n") + "\n");
} finally {
  await pool.end();
  await pg.stop();
  rmSync(tmp, { recursive: true, force: true });
  // as root the cluster lives under /var/tmp/leadpipe-pg, not in tmp: a scale-1 run leaves 21 GB there
  if (pg.dataDir) rmSync(pg.dataDir, { recursive: true, force: true });
}
