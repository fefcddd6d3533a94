/**
 * The people consumer's memory: resolves one import of N synthetic contact records with
 * People.resolveImport in batches of B (B = N: one pass, as before batching) on a fresh embedded
 * PostgreSQL, and prints the records, the time and the peak heap and RSS of this process.
 *
 *   npx tsx bench/people-memory.ts <records> <batch>
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createPool, migrate, People } from "@leadpipe/core";
import { startPostgres } from "../packages/local/src/postgres";
import { syntheticPeople } from "../packages/local/src/generate/people";

const records = Number(process.argv[2] ?? 100_000);
const batchSize = Number(process.argv[3] ?? records);
const IMPORT = "00000000-0000-4000-8000-000000000001";

const tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-people-memory-"));
const pg = await startPostgres(path.join(tmp, "pg"));
const pool = createPool(pg.url, 2);
try {
  await migrate(pool);
  let slice: People.RecordRow[] = [];
  let n = 0;
  for (const r of syntheticPeople({ people: Math.ceil(records / 1.5), seed: "memory" })) {
    if (n === records) break;
    slice.push(
      People.recordRow(People.standardizeContact(r.input, new Date("2026-01-01")), {
        source_kind: "contacts",
        source_key: r.id,
        import_id: IMPORT,
        source_row: n + 2,
        src_seq: String(n + 2),
      }),
    );
    n++;
    if (slice.length === 20_000) {
      await People.upsertRecords(pool, slice);
      slice = [];
    }
  }
  if (slice.length > 0) await People.upsertRecords(pool, slice);
  slice = [];
  global.gc?.();
  const base = process.memoryUsage();
  let heap = base.heapUsed;
  let rss = base.rss;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    heap = Math.max(heap, m.heapUsed);
    rss = Math.max(rss, m.rss);
  }, 50);
  const started = Date.now();
  const r = await People.resolveImport({ pool }, IMPORT, undefined, { batchSize });
  clearInterval(timer);
  const mb = (b: number) => `${Math.round(b / 2 ** 20)} MB`;
  process.stdout.write(
    `${JSON.stringify({
      records: r.records,
      batch: batchSize,
      persons: r.created,
      seconds: (Date.now() - started) / 1000,
      heapBefore: mb(base.heapUsed),
      peakHeap: mb(heap),
      peakRss: mb(rss),
    })}\n`,
  );
} finally {
  await pool.end();
  await pg.stop();
  if (pg.dataDir) rmSync(pg.dataDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
}
