/**
 * End-to-end ingest of a partner-B file against a raw COPY of the same file into an unindexed
 * table on the same database, in the same run.
 *
 *   npx tsx bench/ingest.ts [--rows 1000000] [--chunk-rows 50000] [--workers N (default: the machine's cores)]
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { writePartnerB } from "../packages/local/src/generate/partner-b";
import { TABLE_HEADER, measure, startBench, tableRow } from "./harness";

const { values } = parseArgs({ options: { rows: { type: "string", default: "1000000" }, "chunk-rows": { type: "string", default: "50000" }, workers: { type: "string" } } });
const rows = Number(values.rows);
const bench = await startBench(Number(values["chunk-rows"]), values.workers ? Number(values.workers) : undefined);
try {
  const file = path.join(bench.tmp, "partner-b-mortgages-2026-11-20.csv");
  const t = Date.now();
  await writePartnerB(file, { day: "2026-11-20", rows });
  console.error(`generated ${rows} rows in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const m = await measure(bench.platform, "partner-b-mortgages", file, rows);
  if (m.imp.status !== "COMPLETE") throw new Error(`ingest ended ${m.imp.status}: ${m.imp.status_reason}`);
  const steps = Object.entries(m.imp.step_timings).map(([k, v]) => `${k} ${((v.ms ?? 0) / 1000).toFixed(1)} s`).join(", ");
  const chunkMs = await bench.platform.pool.query<{ n: number; avg: number; max: number }>(
    "SELECT count(*)::int AS n, avg(duration_ms)::int AS avg, max(duration_ms) AS max FROM import_chunks WHERE import_id = $1", [m.imp.id]);
  console.log(TABLE_HEADER);
  console.log(tableRow(m));
  console.log(`\nsteps: ${steps}; ${chunkMs.rows[0]!.n} chunks, ${chunkMs.rows[0]!.avg} ms average, ${chunkMs.rows[0]!.max} ms slowest`);
} finally {
  await bench.close();
}
