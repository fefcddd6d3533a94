/**
 * The operations console under load, on the local platform with the sample day ingested plus
 * `--imports` synthetic import rows (so the lists and the today page read a real-sized table):
 * `--sessions` logged-in clients each walk the main pages for `--seconds`, and the time to the last
 * byte of each answer is recorded (loopback: server time plus a few hundred microseconds). Then the
 * SQL window exports `--export-rows` rows as CSV while the process's peak RSS is sampled (flat memory).
 *
 *   bench/priority.sh npx tsx bench/console.ts [--sessions 20] [--seconds 60] [--imports 100000] [--export-rows 1000000]
 *
 * The reporting layer's 10M-mortgage scale is not generated here (see docs/console.md).
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { LocalPlatform } from "../packages/local/src/platform";
import { serveConsole } from "../packages/local/src/console";
import { addUser } from "../packages/console/src/auth/store";
import { ConsoleClient } from "../test/support/console-client";
import { withPeakRss } from "./harness";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "20" },
    seconds: { type: "string", default: "60" },
    imports: { type: "string", default: "100000" },
    "export-rows": { type: "string", default: "1000000" },
  },
});
const sessions = Number(values.sessions);
const seconds = Number(values.seconds);
const extraImports = Number(values.imports);
const exportRows = Number(values["export-rows"]);

const sampleDay = path.resolve(import.meta.dirname, "../fixtures/sample-day");
const tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-bench-console-"));
process.env.LOG_LEVEL = "silent";
const platform = await LocalPlatform.start({ home: path.join(tmp, "home"), log: () => undefined });
try {
  const dropped = [];
  for (const f of readdirSync(sampleDay).sort()) dropped.push(await platform.drop(path.join(sampleDay, f)));
  const done = await platform.waitFor(dropped);
  await platform.peopleIdle();
  await platform.pool.query(
    `INSERT INTO imports (bucket, object_key, event_key, file_name, source, status, rows_read, accepted, rejected, inserted, updated, unchanged,
                          created_at, started_at, finished_at)
     SELECT 'bench', 'inbox/bench/' || g, 'e' || g, 'bench-' || g || '.csv', 'partner-b-mortgages', 'COMPLETE', 1000, 990, 10, 990, 0, 0,
            now() - make_interval(mins => g), now() - make_interval(mins => g), now() - make_interval(mins => g) + interval '5 seconds'
       FROM generate_series(1, $1) g`,
    [extraImports],
  );
  await platform.pool.query("ANALYZE imports");
  await addUser(platform.pool, "bench", "ops", "a bench password");
  const web = await serveConsole(platform, { port: 0 });
  const withRejects = done.find((r) => (r.rejected ?? 0) > 0)!.id;
  const pages = [
    "/",
    "/imports",
    "/imports?status=COMPLETE_WITH_ERRORS",
    `/imports/${withRejects}`,
    "/reports",
    "/reports/rejects",
    "/leads?q=B-100001",
    "/compliance",
    "/people?q=Gonzalez",
    "/audit",
  ];
  const times = new Map<string, number[]>(pages.map((p) => [p, []]));
  const clients: ConsoleClient[] = [];
  for (let i = 0; i < sessions; i++) {
    const c = new ConsoleClient(web.url);
    const r = await c.login("bench", "a bench password");
    if (r.status !== 303) throw new Error(`login: ${r.status}`);
    clients.push(c);
  }
  const until = Date.now() + seconds * 1000;
  let errors = 0;
  await Promise.all(
    clients.map(async (c, k) => {
      for (let i = k; Date.now() < until; i++) {
        const p = pages[i % pages.length]!;
        const t0 = performance.now();
        const res = await c.get(p);
        await res.arrayBuffer();
        if (res.status !== 200) errors++;
        times.get(p)!.push(performance.now() - t0);
      }
    }),
  );
  const pct = (xs: number[], q: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
  console.log(
    `${sessions} sessions × ${seconds} s, ${extraImports.toLocaleString("en-US")} extra imports; non-200 answers: ${errors}`,
  );
  console.log("| page | requests | p50 ms | p95 ms |\n|---|---|---|---|");
  const all: number[] = [];
  for (const [p, xs] of times) {
    all.push(...xs);
    console.log(
      `| ${p.replace(withRejects, "<id>")} | ${xs.length} | ${pct(xs, 0.5).toFixed(1)} | ${pct(xs, 0.95).toFixed(1)} |`,
    );
  }
  console.log(`| all | ${all.length} | ${pct(all, 0.5).toFixed(1)} | ${pct(all, 0.95).toFixed(1)} |`);

  const c = clients[0]!;
  const token = await c.csrf();
  const t0 = performance.now();
  const {
    result: bytes,
    peakRssMb,
    startRssMb,
  } = await withPeakRss(async () => {
    const res = await c.post("/sql/csv", {
      _csrf: token,
      sql: `SELECT g, md5(g::text) AS h, now() AS at FROM generate_series(1, ${exportRows}) g`,
    });
    let n = 0;
    for await (const chunk of res.body!) n += (chunk as Uint8Array).length;
    return n;
  });
  const s = (performance.now() - t0) / 1000;
  console.log(
    `\nSQL window CSV export: ${exportRows.toLocaleString("en-US")} rows, ${(bytes / 1e6).toFixed(1)} MB in ${s.toFixed(1)} s ` +
      `(${Math.round(exportRows / s).toLocaleString("en-US")} rows/s); RSS ${startRssMb} MB at start, peak ${peakRssMb} MB`,
  );
  await web.close();
} finally {
  await platform.close();
  rmSync(tmp, { recursive: true, force: true });
}
