/**
 * End-to-end ingest of a partner-B file against a raw COPY of the same file into an unindexed
 * table on the same database, in the same run.
 *
 *   npx tsx bench/ingest.ts [--rows 1000000] [--chunk-rows 50000] [--workers N (default: the machine's cores)] [--repeat N]
 *                           [--without-report-triggers]
 *
 * --repeat N: the same file, N times, each time on a fresh local platform (a new database), one
 * table row each and then the median of each figure. On a shared machine the CPU time of the same
 * work varies by a fifth from run to run; the median of a few runs is the figure to compare.
 *
 * --without-report-triggers: the reporting layer's triggers (the mortgage deltas, the dirty mail
 * pieces: every trigger named report_*) are disabled on each fresh platform before the file lands,
 * so the run prices what the reports cost an import end to end (their refresh then finds nothing).
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Pool } from "@leadpipe/core";
import { writePartnerB } from "../packages/local/src/generate/partner-b";
import { TABLE_HEADER, measure, medianRow, startBench, tableRow, type Measured } from "./harness";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    "chunk-rows": { type: "string", default: "50000" },
    workers: { type: "string" },
    repeat: { type: "string", default: "1" },
    "without-report-triggers": { type: "boolean", default: false },
  },
});
const rows = Number(values.rows);
const repeat = Number(values.repeat);
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat takes a whole number ≥ 1, not ${values.repeat}`);
const dir = mkdtempSync(path.join(os.tmpdir(), "leadpipe-bench-file-"));
try {
  const file = path.join(dir, "partner-b-mortgages-2026-11-20.csv");
  const t = Date.now();
  await writePartnerB(file, { day: "2026-11-20", rows });
  // Written out before the first run: the kernel's write-back of the fresh file must not run during it.
  const fd = openSync(file, "r");
  fsyncSync(fd);
  closeSync(fd);
  console.error(`generated ${rows} rows in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const runs: Measured[] = [];
  const notes: string[] = [];
  for (let i = 0; i < repeat; i++) {
    const bench = await startBench(Number(values["chunk-rows"]), values.workers ? Number(values.workers) : undefined);
    try {
      if (values["without-report-triggers"]) await disableReportTriggers(bench.platform.pool);
      const m = await measure(bench.platform, "partner-b-mortgages", file, rows);
      if (m.imp.status !== "COMPLETE") throw new Error(`ingest ended ${m.imp.status}: ${m.imp.status_reason}`);
      const steps = Object.entries(m.imp.step_timings)
        .map(([k, v]) => `${k} ${((v.ms ?? 0) / 1000).toFixed(1)} s`)
        .join(", ");
      const chunkMs = await bench.platform.pool.query<{ n: number; avg: number; max: number }>(
        "SELECT count(*)::int AS n, avg(duration_ms)::int AS avg, max(duration_ms) AS max FROM import_chunks WHERE import_id = $1",
        [m.imp.id],
      );
      runs.push(m);
      notes.push(
        `run ${i + 1} steps: ${steps}; ${chunkMs.rows[0]!.n} chunks, ${chunkMs.rows[0]!.avg} ms average, ${chunkMs.rows[0]!.max} ms slowest`,
      );
      if (repeat > 1) console.error(tableRow(m));
    } finally {
      await bench.close();
    }
  }
  console.log(TABLE_HEADER);
  for (const m of runs) console.log(tableRow(m));
  if (runs.length > 1) console.log(medianRow(runs));
  console.log(`\n${notes.join("\n")}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** Disables every trigger the reporting layer keeps its rollups with (named report_*); says which. */
async function disableReportTriggers(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ tbl: string; name: string }>(
    `SELECT c.relname AS tbl, t.tgname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE NOT t.tgisinternal AND t.tgname LIKE 'report\\_%' AND c.relnamespace = current_schema()::regnamespace
      ORDER BY 1, 2`,
  );
  if (rows.length === 0) throw new Error("--without-report-triggers: no report_* triggers found (the schema changed?)");
  // names from the catalogue, quoted as identifiers
  const q = (s: string) => `"${s.replaceAll('"', '""')}"`;
  for (const r of rows) await pool.query(`ALTER TABLE ${q(r.tbl)} DISABLE TRIGGER ${q(r.name)}`);
  console.error(`${rows.length} report_* triggers disabled on ${[...new Set(rows.map((r) => r.tbl))].join(", ")}`);
}
