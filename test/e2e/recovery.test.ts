/**
 * Crash recovery, with real processes: `leadpipe start` is spawned as a child on a generated
 * 10-chunk file and killed with SIGKILL mid-import (the whole process group, as a power cut
 * takes the postmaster and the S3 endpoint with it), or only its PostgreSQL postmaster is killed.
 * After a new start (or the database's return) the import completes, or ends FAILED with a reason
 * and a replay that works, and the tables equal a clean run's. The in-process tests below cover
 * the decisions recovery makes (resume, fail with a reason, replay an import whose execution is gone).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Import } from "@leadpipe/core";
import { LocalPlatform } from "../../packages/local/src/platform";
import { reachableDataDir } from "../../packages/local/src/postgres";
import { cleanUp, freshHome as freshHomeIn } from "../support/child-homes";
import { writePartnerB } from "../../packages/local/src/generate/partner-b";

const ROOT = path.resolve(__dirname, "../..");
const BIN = path.join(ROOT, "packages/local/bin/leadpipe.js");
const ROWS = 100_000;
const CHUNK_ROWS = 10_000;
const CHUNKS = ROWS / CHUNK_ROWS;
/** Kill when this many chunks are DONE: mid-import ("chunk ~4 of ~10"). */
const KILL_AT = 3;

let tmp: string;
let file: string;
let clean: Snapshot;
const children = new Set<ChildProcess>();

interface Snapshot {
  mortgages: number;
  /** md5 over every mortgage's business columns and source row (import ids, lineage and times excluded). */
  checksum: string;
  rejects: number;
  import: {
    status: string;
    rows_read: number;
    accepted: number;
    rejected: number;
    inserted: number;
    updated: number;
    unchanged: number;
  };
}

const SNAPSHOT = `
  SELECT (SELECT count(*)::int FROM mortgages) AS mortgages,
         (SELECT md5(coalesce(string_agg((to_jsonb(m) - 'import_id' - 'src_seq' - 'created_at' - 'updated_at')::text, '|'
                 ORDER BY m.mortgage_id), '')) FROM mortgages m) AS checksum`;

async function snapshot(db: pg.Client | pg.Pool, importId: string): Promise<Snapshot> {
  const {
    rows: [s],
  } = await db.query<{ mortgages: number; checksum: string }>(SNAPSHOT);
  const {
    rows: [i],
  } = await db.query(
    "SELECT status, rows_read::int, accepted::int, rejected::int, inserted::int, updated::int, unchanged::int FROM imports WHERE id = $1",
    [importId],
  );
  const {
    rows: [r],
  } = await db.query<{ n: number }>(
    "SELECT count(DISTINCT row_number)::int AS n FROM import_rejects WHERE import_id = $1 AND resolved_by IS NULL",
    [importId],
  );
  return { ...s!, rejects: r!.n, import: i };
}

/** `leadpipe start` on a LEADPIPE_HOME, in a process group of its own (so the test can kill it whole). */
function startPlatform(home: string): ChildProcess & { output: () => string } {
  let output = "";
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LEADPIPE_HOME: home,
    CHUNK_ROWS: String(CHUNK_ROWS),
    LOG_LEVEL: "warn",
  };
  // Its own embedded PostgreSQL, whatever the test process was given.
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, ["--single-threaded-gc", BIN, "start"], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env,
  });
  for (const s of [child.stdout!, child.stderr!])
    s.on("data", (d: Buffer) => {
      output += d.toString();
    });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return Object.assign(child, { output: () => output });
}

async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  child?: ChildProcess & { output: () => string },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null)
      throw new Error(`leadpipe start exited (${child.exitCode}) before ${what}:\n${child.output()}`);
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch {
      // the platform or its database is not up (yet, or any more)
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${child ? `:\n${child.output()}` : ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The running platform's database (runtime.json names it once the platform is up). */
async function connect(home: string, child: ChildProcess & { output: () => string }): Promise<pg.Pool> {
  const runtime = path.join(home, "runtime.json");
  // This child's (a killed run leaves its own behind).
  const url = await until(
    "runtime.json",
    () => {
      const r = existsSync(runtime)
        ? (JSON.parse(readFileSync(runtime, "utf8")) as { pid: number; databaseUrl: string })
        : undefined;
      return r && r.pid === child.pid ? r.databaseUrl : undefined;
    },
    180_000,
    child,
  );
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on("error", () => undefined);
  return pool;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

const freshHome = (name: string) => freshHomeIn(tmp, name);

/** Drops the file into the platform's inbox and waits until its import has KILL_AT chunks done. */
async function dropAndWaitForChunks(home: string, db: pg.Pool, child: ChildProcess & { output: () => string }) {
  copyFileSync(file, path.join(home, "inbox", path.basename(file)));
  return until(
    `${KILL_AT} chunks done`,
    async () => {
      const {
        rows: [r],
      } = await db.query<{ id: string; status: string; chunks_total: number; done: number }>(
        `SELECT i.id, i.status, i.chunks_total, (SELECT count(*)::int FROM import_chunks c WHERE c.import_id = i.id AND c.status = 'DONE') AS done
         FROM imports i ORDER BY seq DESC LIMIT 1`,
      );
      return r && r.done >= KILL_AT ? r : undefined;
    },
    300_000,
    child,
  );
}

/** Waits until the import ends (it is recovered after the new start, or when the database is back). */
async function finalState(
  importId: string,
  db: pg.Pool,
  child: ChildProcess & { output: () => string },
): Promise<{ snapshot: Snapshot; row: Import.ImportRow }> {
  const row = await until(
    "the import to end",
    async () => {
      const r = await Import.getImport(db, importId);
      return Import.TERMINAL.includes(r.status) ? r : undefined;
    },
    300_000,
    child,
  );
  return { snapshot: await snapshot(db, importId), row };
}

/** What a replay cannot reproduce exactly (rows the failed run committed count as unchanged): the tables. */
const tables = (s: Snapshot) => ({ mortgages: s.mortgages, checksum: s.checksum });

beforeAll(() => {
  process.env.LOG_LEVEL = "silent";
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-recovery-"));
});

afterAll(() => cleanUp(tmp, ["clean", "killed", "postmaster"], children));

describe("kill -9 mid-import", () => {
  beforeAll(async () => {
    file = path.join(tmp, "partner-b-mortgages-2026-11-21.csv");
    await writePartnerB(file, { day: "2026-11-21", rows: ROWS, badEvery: 997 });
    // The clean run: the same file on a platform nobody interrupts.
    const platform = await LocalPlatform.start({
      home: freshHome("clean"),
      chunkRows: CHUNK_ROWS,
      log: () => undefined,
    });
    try {
      const [row] = await platform.waitFor([await platform.drop(file)]);
      expect(row!.status).toBe("COMPLETE_WITH_ERRORS");
      expect(row!.chunks_total).toBe(CHUNKS);
      clean = await snapshot(platform.pool, row!.id);
    } finally {
      await platform.close();
    }
    expect(clean.mortgages).toBeGreaterThan(ROWS * 0.99);
  }, 600_000);

  it("of the platform (process group): the next start resumes the import and the tables equal a clean run's", async () => {
    const home = freshHome("killed");
    let child = startPlatform(home);
    let db = await connect(home, child);
    const at = await dropAndWaitForChunks(home, db, child);
    process.kill(-child.pid!, "SIGKILL");
    await new Promise((r) => child.once("exit", r));
    await db.end();
    expect(at.status).toBe("PROCESSING");
    expect(at.done).toBeLessThan(CHUNKS);

    child = startPlatform(home);
    db = await connect(home, child);
    try {
      const { row, snapshot: after } = await finalState(at.id, db, child);
      expect(row).toMatchObject({
        status: "COMPLETE_WITH_ERRORS",
        recoveries: 1,
        execution_name: `${at.id}-r1`,
        chunks_total: CHUNKS,
        chunks_done: CHUNKS,
      });
      expect(after).toEqual(clean);
      // Chunks done before the kill were not processed again.
      const {
        rows: [a],
      } = await db.query<{ once: number }>(
        "SELECT count(*) FILTER (WHERE attempts = 1)::int AS once FROM import_chunks WHERE import_id = $1",
        [at.id],
      );
      expect(a!.once).toBe(CHUNKS);
      expect(child.output()).toMatch(new RegExp(`recovered import ${at.id} \\(.*, was PROCESSING\\): resumed`));
    } finally {
      await db.end();
      await stop(child);
    }
  }, 900_000);

  it("of the postmaster: alerted once, started again; the import resumes or ends FAILED and a full replay repairs it: a clean run's tables", async () => {
    const home = freshHome("postmaster");
    const child = startPlatform(home);
    const db = await connect(home, child);
    try {
      const at = await dropAndWaitForChunks(home, db, child);
      expect(at.done).toBeLessThan(CHUNKS);
      const pidFile = path.join(reachableDataDir(path.join(home, "pg")), "postmaster.pid");
      const postmaster = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
      process.kill(postmaster, "SIGKILL");

      const { row, snapshot: after } = await finalState(at.id, db, child);
      // Which way it went depends on how long the database was away (the ASL's retries): both are right.
      console.info(
        `postmaster killed at chunk ${at.done} of ${CHUNKS}: the import ended ${row.status} (recoveries ${row.recoveries})`,
      );
      if (row.status === "FAILED") {
        // The failure was recorded (retries ran out while the database was away): a full replay repairs it.
        expect(row.status_reason).toMatch(/\S/);
        await stop(child);
        const platform = await LocalPlatform.start({ home, chunkRows: CHUNK_ROWS, log: () => undefined });
        try {
          const result = (await platform.invoke("replay", { importId: at.id, mode: "full" })) as Import.ReplayResult;
          const [replayed] = await platform.waitForImports([result.replayId!]);
          expect(replayed!.status).toBe("COMPLETE_WITH_ERRORS");
          expect(tables(await snapshot(platform.pool, result.replayId!))).toEqual(tables(clean));
        } finally {
          await platform.close();
        }
      } else {
        expect(row).toMatchObject({ status: "COMPLETE_WITH_ERRORS", chunks_total: CHUNKS });
        expect(after).toEqual(clean);
      }
      const alerts = readFileSync(path.join(home, "alerts.log"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { subject?: string });
      expect(alerts.filter((a) => a.subject === "leadpipe database unreachable: not taking files")).toHaveLength(1);
      expect(child.output()).toMatch(/database is back after/);
    } finally {
      await db.end();
      await stop(child);
    }
  }, 900_000);
});

describe("recovery decisions (in-process platform)", () => {
  let platform: LocalPlatform;
  let files = 0;

  beforeAll(async () => {
    platform = await LocalPlatform.start({
      home: freshHome("decisions"),
      chunkRows: 3,
      retryIntervalMs: 20,
      log: () => undefined,
    });
  }, 300_000);
  afterAll(async () => {
    await platform?.close();
    if (platform?.pg?.dataDir) rmSync(platform.pg.dataDir, { recursive: true, force: true });
  });

  /** A file of its own (12 rows, 4 chunks of 3, rows 5 and 10 rejected). */
  async function newFile(): Promise<string> {
    const f = path.join(tmp, `partner-b-mortgages-2026-12-${String(++files).padStart(2, "0")}.csv`);
    await writePartnerB(f, { day: "2026-12-01", rows: 12, badEvery: 5, startId: 500_000 + files * 100 });
    return f;
  }

  /** An import as a crash leaves it: PROCESSING, its chunks from `from` on not done, its execution gone. */
  async function crashedAt(from: number, file?: string): Promise<Import.ImportRow> {
    const [done] = await platform.waitFor([await platform.drop(file ?? (await newFile()))]);
    await platform.pool.query(
      "UPDATE import_chunks SET status = 'PENDING' WHERE import_id = $1 AND chunk_index >= $2",
      [done!.id, from],
    );
    await platform.pool.query(
      `UPDATE imports SET status = 'PROCESSING', current_step = 'process', finished_at = NULL, status_reason = NULL,
              chunks_done = $2, execution_name = 'gone-' || id WHERE id = $1`,
      [done!.id, from],
    );
    return Import.getImport(platform.pool, done!.id);
  }

  /** Recovery takes up the crashed import (`action`) under a new execution, and it ends as a clean run does. */
  async function recoversAs(crashed: Import.ImportRow, status: string, action: string): Promise<Import.ImportRow> {
    expect(await platform.recoverImports(0)).toEqual([
      { importId: crashed.id, file: crashed.file_name, status, action, execution: `${crashed.id}-r1` },
    ]);
    const [row] = await platform.waitForImports([crashed.id]);
    expect(row).toMatchObject({
      status: "COMPLETE_WITH_ERRORS",
      recoveries: 1,
      chunks_total: 4,
      chunks_done: 4,
      rows_read: 12,
      rejected: 2,
    });
    return row!;
  }

  it("resumes a PROCESSING import with an intact chunk plan: only its remaining chunks run, then Finalize", async () => {
    const crashed = await crashedAt(2);
    const before = await snapshot(platform.pool, crashed.id);
    await recoversAs(crashed, "PROCESSING", "resumed");
    const { rows } = await platform.pool.query<{ chunk_index: number; attempts: number }>(
      "SELECT chunk_index, attempts FROM import_chunks WHERE import_id = $1 ORDER BY 1",
      [crashed.id],
    );
    expect(rows.map((r) => r.attempts)).toEqual(rows.map((r) => (r.chunk_index < 2 ? 1 : 2)));
    // The tables as they were (the fabricated crash re-runs chunks whose rows were committed: they count as unchanged).
    const after = await snapshot(platform.pool, crashed.id);
    expect(tables(after)).toEqual(tables(before));
    expect(after.rejects).toBe(before.rejects);
    // Nothing left to recover: a second run changes nothing.
    expect(await platform.recoverImports(0)).toEqual([]);
  });

  it("ends FAILED with the step, the reason and an alert when the chunk plan is not intact; a re-drop of the file then imports it", async () => {
    const file = await newFile();
    const crashed = await crashedAt(1, file);
    const before = tables(await snapshot(platform.pool, crashed.id));
    await platform.pool.query("DELETE FROM import_chunks WHERE import_id = $1 AND chunk_index = 3", [crashed.id]);
    const alerts = platform.alerts.length;
    const [r] = await platform.recoverImports(0);
    expect(r).toMatchObject({ importId: crashed.id, status: "PROCESSING", action: "failed" });
    expect(r!.reason).toBe(
      `its execution stopped at chunk 1 of 4 and its staged chunk plan is not intact (3 chunk(s) recorded of 4): ` +
        `replay it with: npx leadpipe replay ${crashed.id} --mode full`,
    );
    const failed = await Import.getImport(platform.pool, crashed.id);
    expect(failed).toMatchObject({
      status: "FAILED",
      failed_step: "process",
      status_reason: `ExecutionLost: ${r!.reason}`,
      alert_status: "SENT",
    });
    expect(platform.alerts.slice(alerts).map((a) => a.subject)).toEqual([
      `leadpipe import FAILED: ${crashed.file_name}`,
    ]);
    expect(platform.alerts.at(-1)!.message).toContain(`Replay: npx leadpipe replay ${crashed.id} --mode full`);
    expect(await platform.recoverImports(0)).toEqual([]);

    // A FAILED import gives up its content: the same file sent again is imported, not a DUPLICATE.
    const [again] = await platform.waitFor([await platform.drop(file)]);
    expect(again).toMatchObject({ status: "COMPLETE_WITH_ERRORS", rows_read: 12, rejected: 2 });
    expect(tables(await snapshot(platform.pool, again!.id))).toEqual(before);
  });

  it("replays in full an open import whose execution is gone: the original ends FAILED (step, reason), the replay equals a clean run", async () => {
    const crashed = await crashedAt(2);
    const before = tables(await snapshot(platform.pool, crashed.id));
    const errorsOnly = platform.invoke("replay", { importId: crashed.id, mode: "errors-only" });
    await expect(errorsOnly).rejects.toThrow(
      `import ${crashed.id} is still PROCESSING: only a full replay can take over an import that did not end`,
    );

    const result = (await platform.invoke("replay", { importId: crashed.id, mode: "full" })) as Import.ReplayResult;
    const [replayed] = await platform.waitForImports([result.replayId!]);
    expect(replayed).toMatchObject({
      status: "COMPLETE_WITH_ERRORS",
      replay_of: crashed.id,
      rows_read: 12,
      rejected: 2,
    });
    expect(await Import.getImport(platform.pool, crashed.id)).toMatchObject({
      status: "FAILED",
      failed_step: "process",
      recoveries: 1,
      status_reason: "ExecutionLost: its execution is gone (it stopped at chunk 2 of 4); replayed in full",
    });
    expect(tables(await snapshot(platform.pool, replayed!.id))).toEqual(before);
  });

  it("runs an import found STAGING (its execution gone) again from Validate: it ends as a clean run", async () => {
    const crashed = await crashedAt(0);
    const before = tables(await snapshot(platform.pool, crashed.id));
    await platform.pool.query("UPDATE imports SET status = 'STAGING', current_step = 'stage' WHERE id = $1", [
      crashed.id,
    ]);
    const row = await recoversAs(crashed, "STAGING", "restarted");
    expect(Object.keys(row.step_timings).sort()).toEqual(["checksum", "finalize", "process", "stage", "validate"]);
    expect(tables(await snapshot(platform.pool, crashed.id))).toEqual(before);
  });

  it("refuses to replay an import whose execution is still running", async () => {
    const crashed = await crashedAt(2);
    // Its execution: one this platform is running (it never ends during the test).
    const name = `running-${crashed.id}`;
    platform.executions.set(name, { done: false, promise: new Promise(() => undefined) });
    await platform.pool.query("UPDATE imports SET execution_name = $2 WHERE id = $1", [crashed.id, name]);
    try {
      await expect(platform.invoke("replay", { importId: crashed.id, mode: "full" })).rejects.toThrow(
        `import ${crashed.id} is still PROCESSING (its execution is running): wait for it to end before replaying it`,
      );
      expect(await platform.recoverImports(0)).toEqual([]);
    } finally {
      platform.executions.delete(name);
      await platform.pool.query("UPDATE imports SET status = 'COMPLETE_WITH_ERRORS' WHERE id = $1", [crashed.id]);
    }
  });
});
