/**
 * What every ingest benchmark does: a local platform in a scratch home, a raw COPY of the file
 * into an unindexed table as the baseline, the file through the whole pipeline, one table row.
 */
import {
  createReadStream,
  mkdtempSync,
  readSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { from as copyFrom } from "pg-copy-streams";
import { createPool, migrate, People, type Pool, type Queryable } from "@leadpipe/core";
import { startPostgres, type RunningPostgres } from "../packages/local/src/postgres";
import { syntheticPeople } from "../packages/local/src/generate/people";
import { LocalPlatform } from "../packages/local/src/platform";
import type { ImportRow } from "../packages/core/src/imports/repo";
import { median } from "./stats";

/**
 * The benchmarks measure the platform as the leadpipe CLI runs it: node with --single-threaded-gc
 * (packages/local/bin/leadpipe.js). Started without it (`npx tsx bench/…`), the run starts itself
 * again with it.
 */
if (!process.execArgv.includes("--single-threaded-gc")) {
  const again = spawnSync(process.execPath, ["--single-threaded-gc", ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
  });
  process.exit(again.status ?? 1);
}

export interface Bench {
  platform: LocalPlatform;
  tmp: string;
  close(): Promise<void>;
}

export async function startBench(chunkRows: number, workers?: number): Promise<Bench> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-bench-"));
  process.env.LOG_LEVEL = process.env.LOG_LEVEL ?? "warn";
  const platform = await LocalPlatform.start({
    home: path.join(tmp, "home"),
    chunkRows,
    ...(workers ? { workers } : {}),
    log: () => undefined,
  });
  // Nothing is measured while the workers still compile their handlers (a second or two of both cores).
  await platform.workersReady();
  return {
    platform,
    tmp,
    async close() {
      await platform.close();
      if (platform.pg?.dataDir) rmSync(platform.pg.dataDir, { recursive: true, force: true });
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

function headerCells(file: string, delimiter: string): number {
  const fd = openSync(file, "r");
  const buf = Buffer.alloc(64 * 1024);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  return buf.subarray(0, n).toString("utf8").split(/\r?\n/, 1)[0]!.split(delimiter).length;
}

/** How PostgreSQL's COPY reads the file of the baseline: its delimiter, quote and encoding (COPY's names, e.g. WIN1252). */
export interface RawCopyDialect {
  delimiter?: string;
  quote?: string;
  encoding?: string;
}

const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * Seconds to COPY the file's bytes into an unindexed table of text columns (the baseline): a
 * plain table, as the ingest's own tables are, or (`unlogged`) one that skips the write-ahead log.
 */
export async function rawCopySeconds(
  platform: LocalPlatform,
  file: string,
  dialect: RawCopyDialect = {},
  unlogged = false,
): Promise<number> {
  const delimiter = dialect.delimiter ?? ",";
  const options = [
    `FORMAT csv`,
    `HEADER true`,
    `DELIMITER ${literal(delimiter)}`,
    ...(dialect.quote ? [`QUOTE ${literal(dialect.quote)}`] : []),
    ...(dialect.encoding ? [`ENCODING ${literal(dialect.encoding)}`] : []),
  ];
  const cols = Array.from({ length: headerCells(file, delimiter) }, (_, i) => `c${i} text`).join(", ");
  await platform.pool.query(
    `DROP TABLE IF EXISTS bench_raw; CREATE ${unlogged ? "UNLOGGED " : ""}TABLE bench_raw (${cols})`,
  );
  const client = await platform.pool.connect();
  const t = Date.now();
  try {
    await pipeline(
      createReadStream(file),
      client.query(copyFrom(`COPY bench_raw FROM STDIN WITH (${options.join(", ")})`)),
    );
  } finally {
    client.release();
  }
  const seconds = (Date.now() - t) / 1000;
  await platform.pool.query("DROP TABLE bench_raw");
  return seconds;
}

/** Peak RSS of this process (the handlers and the Map's worker threads) while `fn` runs. */
export async function withPeakRss<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; peakRssMb: number; startRssMb: number }> {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 100);
  try {
    const result = await fn();
    return {
      result,
      peakRssMb: Math.round(Math.max(peak, process.memoryUsage.rss()) / 1e6),
      startRssMb: Math.round(start / 1e6),
    };
  } finally {
    clearInterval(timer);
  }
}

const TICKS_PER_SECOND = 100;

/** A process's parent and CPU seconds (its own, and its reaped children's) from Linux /proc; undefined once it is gone. */
function procStat(pid: number | string): { ppid: number; own: number; children: number } | undefined {
  try {
    // Fields after "pid (comm) ": state ppid … utime(11) stime(12) cutime(13) cstime(14), in clock ticks.
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ").map(Number);
    return { ppid: f[1]!, own: (f[11]! + f[12]!) / TICKS_PER_SECOND, children: (f[13]! + f[14]!) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds PostgreSQL has spent so far: the postmaster, the backends it has reaped (its
 * children's times) and the ones still running. Linux only; 0 when the server is not ours.
 */
export function postgresCpuSeconds(dataDir: string | undefined): number {
  if (!dataDir) return 0;
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return 0;
  }
  const pm = procStat(postmaster);
  let total = pm ? pm.own + pm.children : 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    // A backend gone meanwhile is counted in the postmaster's children's times.
    const child = procStat(entry);
    if (child?.ppid === postmaster) total += child.own;
  }
  return total;
}

/**
 * The two imports of an incremental run: the records of `base` generated people, then `fresh` rows more (new people's
 * and newer deliveries of existing people's records).
 */
export function incrementalPeople(base: number, fresh: number) {
  const all = [...syntheticPeople({ people: base + Math.round(fresh * 0.6), seed: "incremental" })];
  return [all.slice(0, all.length - fresh), all.slice(all.length - fresh)] as const;
}

/**
 * Generated people upserted as import `n`'s contact records (what the contacts target does per chunk: source rows from
 * 2, `src_seq` the import's number and the row). Returns the import's id.
 */
export async function landPeople(
  db: Queryable,
  n: number,
  records: readonly { id: string; input: People.ContactInput }[],
): Promise<string> {
  const importId = `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
  await People.upsertRecords(
    db,
    records.map((r, i) =>
      People.recordRow(People.standardizeContact(r.input), {
        source_kind: "contacts",
        source_key: r.id,
        import_id: importId,
        source_row: i + 2,
        src_seq: ((BigInt(n) << 32n) + BigInt(i + 2)).toString(),
      }),
    ),
  );
  return importId;
}

/**
 * CPU seconds of Node (this process, every thread: the handlers and the Map's workers; and the
 * local S3 endpoint's process) and of PostgreSQL.
 */
export function cpuSeconds(platform: LocalPlatform): { node: number; postgres: number } {
  const c = process.cpuUsage();
  const s3 = platform.s3EndpointPid === undefined ? undefined : procStat(platform.s3EndpointPid);
  return { node: (c.user + c.system) / 1e6 + (s3?.own ?? 0), postgres: postgresCpuSeconds(platform.pg?.dataDir) };
}

export interface Measured {
  name: string;
  rows: number;
  mb: number;
  /** The raw COPY into a plain unindexed table, and into an unlogged one. */
  copySeconds: number;
  unloggedCopySeconds: number;
  ingestSeconds: number;
  peakRssMb: number;
  /** RSS when the file was dropped: the peak's growth over it is what this import cost. */
  startRssMb: number;
  /** CPU seconds the raw COPY and the ingest cost, this process and PostgreSQL apart. */
  copyCpu: { node: number; postgres: number };
  ingestCpu: { node: number; postgres: number };
  imp: ImportRow;
}

const since = (a: { node: number; postgres: number }, b: { node: number; postgres: number }) => ({
  node: b.node - a.node,
  postgres: b.postgres - a.postgres,
});

/** Drops the file, waits for its import, checks it read every row, and times it (after the raw COPY of `copyFile`: the same data as CSV when the file is not CSV). */
export async function measure(
  platform: LocalPlatform,
  name: string,
  file: string,
  rows: number,
  dialect: RawCopyDialect = {},
  copyFile = file,
): Promise<Measured> {
  const unloggedCopySeconds = await rawCopySeconds(platform, copyFile, dialect, true);
  const c0 = cpuSeconds(platform);
  const copySeconds = await rawCopySeconds(platform, copyFile, dialect);
  const c1 = cpuSeconds(platform);
  const t = Date.now();
  const {
    result: imp,
    peakRssMb,
    startRssMb,
  } = await withPeakRss(async () => {
    const [row] = await platform.waitFor([await platform.drop(file)]);
    return row!;
  });
  const ingestSeconds = (Date.now() - t) / 1000;
  const c2 = cpuSeconds(platform);
  if (!["COMPLETE", "COMPLETE_WITH_ERRORS"].includes(imp.status) || imp.rows_read !== rows) {
    throw new Error(`${name}: ingest ended ${imp.status} with ${imp.rows_read} rows: ${imp.status_reason}`);
  }
  return {
    name,
    rows,
    mb: statSync(file).size / 1e6,
    copySeconds,
    unloggedCopySeconds,
    ingestSeconds,
    peakRssMb,
    startRssMb,
    copyCpu: since(c0, c1),
    ingestCpu: since(c1, c2),
    imp,
  };
}

const n = (x: number) => Math.round(x).toLocaleString("en-US");

export const TABLE_HEADER =
  "| file | rows | MB | raw COPY (unindexed table) | leadpipe ingest end to end | ratio | ratio against an unlogged table | peak RSS (node) | CPU s: COPY / ingest (Node + PostgreSQL) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|";

const cpu = (c: { node: number; postgres: number }) =>
  `${(c.node + c.postgres).toFixed(1)} (${c.node.toFixed(1)} + ${c.postgres.toFixed(1)})`;

export function tableRow(m: Measured): string {
  const copyRate = m.rows / m.copySeconds;
  const ingestRate = m.rows / m.ingestSeconds;
  return `| ${m.name} | ${n(m.rows)} | ${m.mb.toFixed(0)} | ${n(copyRate)} rows/s (${m.copySeconds.toFixed(1)} s) | ${n(ingestRate)} rows/s (${m.ingestSeconds.toFixed(1)} s) | ${(ingestRate / copyRate).toFixed(2)} | ${(m.unloggedCopySeconds / m.ingestSeconds).toFixed(2)} (COPY ${m.unloggedCopySeconds.toFixed(1)} s) | ${n(m.peakRssMb)} MB | ${cpu(m.copyCpu)} / ${cpu(m.ingestCpu)} |`;
}

/**
 * The median of each column over several runs of one file (each ratio is the median of the runs'
 * ratios, not a ratio of medians).
 */
export function medianRow(runs: readonly Measured[]): string {
  const m = (f: (r: Measured) => number) => median(runs.map(f));
  const first = runs[0]!;
  const rows = first.rows;
  const copy = m((r) => r.copySeconds);
  const ingest = m((r) => r.ingestSeconds);
  const unlogged = m((r) => r.unloggedCopySeconds);
  const cpuOf = (f: (r: Measured) => { node: number; postgres: number }) => ({
    node: m((r) => f(r).node),
    postgres: m((r) => f(r).postgres),
  });
  return `| **median of ${runs.length}** | ${n(rows)} | ${first.mb.toFixed(0)} | ${n(rows / copy)} rows/s (${copy.toFixed(1)} s) | ${n(rows / ingest)} rows/s (${ingest.toFixed(1)} s) | **${m((r) => r.copySeconds / r.ingestSeconds).toFixed(2)}** | ${m((r) => r.unloggedCopySeconds / r.ingestSeconds).toFixed(2)} (COPY ${unlogged.toFixed(1)} s) | ${n(m((r) => r.peakRssMb))} MB | ${cpu(cpuOf((r) => r.copyCpu))} / ${cpu(cpuOf((r) => r.ingestCpu))} |`;
}

/** A migrated embedded PostgreSQL in a scratch folder for `use` (a pool of four), stopped and removed afterwards. */
export async function withScratchDatabase<T>(
  prefix: string,
  use: (pool: Pool, server: RunningPostgres) => Promise<T>,
): Promise<T> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), prefix));
  const server = await startPostgres(path.join(tmp, "pg"));
  const pool = createPool(server.url, 4);
  try {
    await migrate(pool);
    return await use(pool, server);
  } finally {
    await pool.end();
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
