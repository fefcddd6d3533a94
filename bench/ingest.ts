/**
 * End-to-end ingest of a partner-B file against a raw COPY of the same file into an unindexed
 * table on the same database, in the same run.
 *
 *   npx tsx bench/ingest.ts [--rows 1000000] [--chunk-rows 50000]
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { from as copyFrom } from "pg-copy-streams";
import { LocalPlatform } from "../packages/local/src/platform";
import { writePartnerB } from "../packages/local/src/generate/partner-b";
import { partnerBMortgages } from "../packages/core/src/sources/partner-b-mortgages";

const { values } = parseArgs({ options: { rows: { type: "string", default: "1000000" }, "chunk-rows": { type: "string", default: "50000" } } });
const rows = Number(values.rows);
const tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-bench-"));
process.env.LOG_LEVEL = process.env.LOG_LEVEL ?? "warn";

const file = path.join(tmp, "partner-b-mortgages-2026-11-20.csv");
let t = Date.now();
await writePartnerB(file, { day: "2026-11-20", rows });
const mb = statSync(file).size / 1e6;
console.error(`generated ${rows} rows (${mb.toFixed(0)} MB) in ${((Date.now() - t) / 1000).toFixed(1)} s`);

const platform = await LocalPlatform.start({ home: path.join(tmp, "home"), chunkRows: Number(values["chunk-rows"]), log: () => undefined });
try {
  // Raw COPY baseline: the same bytes into an unindexed table of text columns.
  const cols = Object.values(partnerBMortgages.columns).map((c) => `${c} text`).join(", ");
  await platform.pool.query(`DROP TABLE IF EXISTS bench_raw; CREATE UNLOGGED TABLE bench_raw (${cols})`);
  const client = await platform.pool.connect();
  t = Date.now();
  await pipeline(createReadStream(file), client.query(copyFrom("COPY bench_raw FROM STDIN WITH (FORMAT csv, HEADER true)")));
  const copySec = (Date.now() - t) / 1000;
  client.release();
  await platform.pool.query("DROP TABLE bench_raw");

  t = Date.now();
  const d = await platform.drop(file);
  const [imp] = await platform.waitFor([d]);
  const ingestSec = (Date.now() - t) / 1000;
  if (imp!.status !== "COMPLETE" || imp!.rows_read !== rows) throw new Error(`ingest ended ${imp!.status} with ${imp!.rows_read} rows: ${imp!.status_reason}`);
  const steps = Object.entries(imp!.step_timings).map(([k, v]) => `${k} ${((v.ms ?? 0) / 1000).toFixed(1)} s`).join(", ");

  const chunkMs = await platform.pool.query<{ n: number; avg: number; max: number }>(
    "SELECT count(*)::int AS n, avg(duration_ms)::int AS avg, max(duration_ms) AS max FROM import_chunks WHERE import_id = $1", [imp!.id]);
  const copyRate = rows / copySec;
  const ingestRate = rows / ingestSec;
  console.log(`| rows | file MB | raw COPY (unindexed) | leadpipe ingest end to end | ratio |`);
  console.log(`|---:|---:|---:|---:|---:|`);
  console.log(`| ${rows.toLocaleString("en-US")} | ${mb.toFixed(0)} | ${Math.round(copyRate).toLocaleString("en-US")} rows/s (${copySec.toFixed(1)} s) | ${Math.round(ingestRate).toLocaleString("en-US")} rows/s (${ingestSec.toFixed(1)} s) | ${(ingestRate / copyRate).toFixed(2)} |`);
  console.log(`\nsteps: ${steps}; ${chunkMs.rows[0]!.n} chunks, ${chunkMs.rows[0]!.avg} ms average, ${chunkMs.rows[0]!.max} ms slowest`);
} finally {
  await platform.close();
  if (platform.pg?.dataDir) rmSync(platform.pg.dataDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
}
