/**
 * The operations console under load at the reporting layer's scale.
 *
 *   bench/priority.sh npx tsx bench/console.ts [--scale 1] [--sessions 20] [--seconds 60] [--think-ms 2000,0]
 *                                                [--imports 100000] [--export-rows 1000000] [--explain] [--drop]
 *
 * 1. The data (once per --home; kept for the next run unless --drop): the sample day through the local
 *    platform, then bench/reports-data.ts's data set at --scale (1: 10M mortgages, 10M pieces, 8M
 *    deliveries, 2M calls), the reports' full refresh, and --imports more rows of import history.
 * 2. --explain: each page once, with every SELECT it sent run again under EXPLAIN ANALYZE (slowest first).
 * 3. For each think time: --sessions people (a load generator in its own process, bench/console-load.ts)
 *    walk the pages for --seconds; the server records each answer's time from request received to last
 *    byte written, the client its latency.
 * 4. The SQL window's CSV export of --export-rows rows, then the same through /api/sql (NDJSON), each with
 *    the peak RSS (memory flat).
 */
import { fork } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { Reports } from "@leadpipe/core";
import { LocalPlatform } from "../packages/local/src/platform";
import { serveConsole } from "../packages/local/src/console";
import { addUser } from "../packages/console/src/auth/store";
import { ConsoleClient } from "../test/support/console-client";
import { withPeakRss } from "./harness";
import { buildReportData, reportDataSize } from "./reports-data";
import type { LoadMessage, LoadPlan } from "./console-load";

const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "1" },
    "mail-days": { type: "string", default: "330" },
    home: { type: "string" },
    sessions: { type: "string", default: "20" },
    seconds: { type: "string", default: "60" },
    "think-ms": { type: "string", default: "2000,0" },
    imports: { type: "string", default: "100000" },
    "export-rows": { type: "string", default: "1000000" },
    explain: { type: "boolean", default: !!process.env.BENCH_EXPLAIN },
    drop: { type: "boolean", default: false },
  },
});
const scale = Number(values.scale);
const sessions = Number(values.sessions);
const seconds = Number(values.seconds);
const thinks = values["think-ms"]!.split(",").map(Number);
const extraImports = Number(values.imports);
const exportRows = Number(values["export-rows"]);
const home = values.home ?? `/var/tmp/leadpipe-bench-console/scale-${scale}`;
const step = (what: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${what}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const pct = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? Number.NaN;

process.env.LOG_LEVEL = "silent";
mkdirSync(home, { recursive: true });
const platform = await LocalPlatform.start({ home, log: () => undefined });
const superuser = new pg.Pool({ connectionString: platform.pg!.url, max: 2 });

/** The data set, once per home: a marker table says it is complete. */
async function buildOnce(): Promise<void> {
  const { rows } = await superuser.query("SELECT to_regclass('public.bench_console_built') IS NOT NULL AS built");
  if (rows[0].built) {
    step(`data already built in ${home}`);
    return;
  }
  const sampleDay = path.resolve(import.meta.dirname, "../fixtures/sample-day");
  const dropped = [];
  for (const f of readdirSync(sampleDay).sort()) dropped.push(await platform.drop(path.join(sampleDay, f)));
  await platform.waitFor(dropped);
  await platform.peopleIdle();
  step("sample day ingested");
  const t0 = performance.now();
  const client = await superuser.connect();
  try {
    await buildReportData(client, reportDataSize(scale), Number(values["mail-days"]), step);
  } finally {
    client.release();
  }
  step(`report data built in ${((performance.now() - t0) / 1000).toFixed(0)} s; full refresh`);
  await Reports.refreshAll(platform.pool, { full: true });
  step("import history");
  await superuser.query(
    `INSERT INTO imports (bucket, object_key, event_key, file_name, source, status, rows_read, accepted, rejected,
                          inserted, updated, unchanged, created_at, started_at, finished_at)
     SELECT 'bench', 'inbox/bench/' || g, 'bench-e' || g, 'bench-' || g || '.csv', 'partner-b-mortgages', 'COMPLETE',
            1000, 990, 10, 990, 0, 0, now() - make_interval(mins => g), now() - make_interval(mins => g),
            now() - make_interval(mins => g) + interval '5 seconds'
       FROM generate_series(1, $1::int) g`,
    [extraImports],
  );
  await superuser.query("VACUUM ANALYZE");
  await superuser.query("CREATE TABLE bench_console_built (at timestamptz NOT NULL DEFAULT now())");
  step(`built in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

/** Each page once; every SELECT it sent, run again under EXPLAIN ANALYZE as the superuser. */
async function explainPages(url: string, pages: string[]): Promise<void> {
  const seen: { sql: string; params: unknown[] }[] = [];
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const [q, p] = args;
    const sql = typeof q === "string" ? q : (q as { text?: string })?.text;
    if (sql && /^\s*(SELECT|WITH)\b/i.test(sql)) seen.push({ sql, params: (Array.isArray(p) ? p : []) as unknown[] });
    return original.apply(this, args);
  };
  const c = new ConsoleClient(url);
  await c.login("bench", "a bench password");
  try {
    for (const p of pages) {
      seen.length = 0;
      const t0 = performance.now();
      const res = await c.get(p);
      await res.arrayBuffer();
      const ms = performance.now() - t0;
      const plans: { ms: number; text: string }[] = [];
      for (const q of [...seen]) {
        const r = await superuser.query(`EXPLAIN (ANALYZE, BUFFERS) ${q.sql}`, q.params);
        const lines = r.rows.map((x: Record<string, string>) => x["QUERY PLAN"]!);
        const exec = Number(/Execution Time: ([\d.]+)/.exec(lines.at(-1) ?? "")?.[1] ?? 0);
        plans.push({ ms: exec, text: `${q.sql.replace(/\s+/g, " ").slice(0, 160)}\n    ${lines.join("\n    ")}` });
      }
      plans.sort((a, b) => b.ms - a.ms);
      process.stdout.write(`\n## ${p}: ${ms.toFixed(1)} ms, ${plans.length} queries\n`);
      for (const x of plans.slice(0, 3)) process.stdout.write(`  [${x.ms.toFixed(1)} ms] ${x.text}\n`);
    }
  } finally {
    proto.query = original;
  }
}

/** One load phase: the generator forked, the server's times collected meanwhile. */
async function load(url: string, pages: string[], thinkMs: number, label: (p: string) => string): Promise<string[]> {
  const server = new Map<string, number[]>(pages.map((p) => [p, []]));
  recording = (u, ms) => server.get(u)?.push(ms);
  const plan: LoadPlan = { url, username: "bench", password: "a bench password", pages, sessions, seconds, thinkMs };
  const child = fork(path.join(import.meta.dirname, "console-load.ts"), [JSON.stringify(plan)], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let started = false;
  const done = await new Promise<LoadMessage & { type: "done" }>((resolve, reject) => {
    child.on("message", (m: LoadMessage) => {
      if (m.type === "started") {
        started = true;
        for (const xs of server.values()) xs.length = 0;
      } else resolve(m);
    });
    child.on("exit", (code) => reject(new Error(`the load generator ended (exit ${code}) before its report`)));
  });
  recording = undefined;
  if (!started) throw new Error("the load generator never started");
  const out = [
    `\n${sessions} sessions × ${seconds} s, think time ${thinkMs === 0 ? "none" : `${thinkMs} ms (uniform 0.5-1.5×)`}; ` +
      `non-200 answers: ${done.errors}${done.errors ? ` ${JSON.stringify(done.statuses)}` : ""}`,
    "| page | requests | server p50 ms | server p95 ms | client p50 ms | client p95 ms |",
    "|---|---|---|---|---|---|",
  ];
  const allS: number[] = [];
  const allC: number[] = [];
  for (const p of pages) {
    const s = server.get(p)!;
    const c = done.times[p] ?? [];
    allS.push(...s);
    allC.push(...c);
    const cells = [s.length, pct(s, 0.5), pct(s, 0.95), pct(c, 0.5), pct(c, 0.95)];
    out.push(
      `| ${label(p)} | ${cells[0]} | ${cells
        .slice(1)
        .map((x) => x.toFixed(1))
        .join(" | ")} |`,
    );
  }
  const all = [pct(allS, 0.5), pct(allS, 0.95), pct(allC, 0.5), pct(allC, 0.95)].map((x) => x.toFixed(1));
  out.push(`| all | ${allS.length} | ${all.join(" | ")} |`);
  out.push(`(${(allS.length / seconds).toFixed(1)} pages/s)`);
  return out;
}

let recording: ((url: string, ms: number) => void) | undefined;
try {
  await buildOnce();
  const counts = await superuser.query(
    `SELECT (SELECT count(*) FROM mortgages)::bigint AS mortgages, (SELECT count(*) FROM mail_pieces)::bigint AS pieces,
            (SELECT count(*) FROM mail_piece_deliveries)::bigint AS deliveries, (SELECT count(*) FROM call_responses)::bigint AS calls,
            (SELECT count(*) FROM imports)::bigint AS imports, (SELECT count(*) FROM import_rejects)::bigint AS rejects`,
  );
  const n = counts.rows[0] as Record<string, string>;
  const dataLine =
    `Data: ${fmt(+n.mortgages!)} mortgages, ${fmt(+n.pieces!)} pieces, ${fmt(+n.deliveries!)} deliveries, ` +
    `${fmt(+n.calls!)} calls, ${fmt(+n.imports!)} imports, ${fmt(+n.rejects!)} rejected rows.`;
  step(dataLine);
  await addUser(platform.pool, "bench", "ops", "a bench password");
  const web = await serveConsole(platform, {
    port: 0,
    onServed: (req, ms) => recording?.(req.url, ms),
  });
  const {
    rows: [withRejects],
  } = await superuser.query<{ id: string }>(
    "SELECT id FROM imports WHERE bucket = $1 AND rejected > 0 ORDER BY seq LIMIT 1",
    [platform.bucket],
  );
  const pages = [
    "/",
    "/imports",
    "/imports?status=COMPLETE_WITH_ERRORS",
    `/imports/${withRejects!.id}`,
    "/reports",
    "/reports/rejects",
    "/leads?q=B-100001",
    "/compliance",
    "/pulls",
    "/people?q=Gonzalez",
    "/audit",
  ];
  const label = (p: string) => p.replace(withRejects!.id, "<id>");
  const out = [dataLine];
  if (values.explain) await explainPages(web.url, pages);
  for (const think of thinks) {
    step(`load: think time ${think} ms`);
    const lines = await load(web.url, pages, think, label);
    process.stderr.write(`${lines.join("\n")}\n`);
    out.push(...lines);
  }

  if (exportRows > 0) {
    const sql = `SELECT g, md5(g::text) AS h, now() AS at FROM generate_series(1, ${exportRows}) g`;
    /** One export read to its end, with the serving process's RSS sampled meanwhile. */
    const exported = async (what: string, request: () => Promise<Response>) => {
      const t0 = performance.now();
      const {
        result: bytes,
        peakRssMb,
        startRssMb,
      } = await withPeakRss(async () => {
        const res = await request();
        let n = 0;
        for await (const chunk of res.body!) n += (chunk as Uint8Array).length;
        return n;
      });
      const s = (performance.now() - t0) / 1000;
      return (
        `${what}: ${fmt(exportRows)} rows, ${(bytes / 1e6).toFixed(1)} MB in ${s.toFixed(1)} s ` +
        `(${fmt(exportRows / s)} rows/s); RSS ${startRssMb} MB at start, peak ${peakRssMb} MB`
      );
    };
    const c = new ConsoleClient(web.url);
    await c.login("bench", "a bench password");
    const token = await c.csrf();
    out.push(`\n${await exported("SQL window CSV export", () => c.post("/sql/csv", { _csrf: token, sql }))}`);
    // the same rows through /api/sql (what `leadpipe sql --stage --json` reads): NDJSON, streamed
    const login = (await (
      await fetch(`${web.url}/api/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "bench", password: "a bench password" }),
      })
    ).json()) as { token: string };
    const api = () =>
      fetch(`${web.url}/api/sql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${login.token}` },
        body: JSON.stringify({ sql, limit: 0 }),
      });
    out.push(await exported("/api/sql NDJSON", api));
  }
  process.stdout.write(`${out.join("\n")}\n`);
  await web.close();
} finally {
  await superuser.end();
  await platform.close();
  if (values.drop && existsSync(home)) {
    if (platform.pg?.dataDir) rmSync(platform.pg.dataDir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
}
