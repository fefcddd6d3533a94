/**
 * kill -9 of `leadpipe migrate`, with real processes: the CLI is spawned as a child (its own
 * embedded PostgreSQL and S3 endpoint, in a process group of its own) on an SQLite source of
 * ~26 key ranges, killed with SIGKILL once some ranges are checkpointed, then `migrate --resume
 * RUN_ID --json` is run. Every table must reconcile exactly and the landed records must equal a
 * clean, uninterrupted run's (on a platform of its own), with no record twice.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Migration } from "@leadpipe/core";
import type { Queryable } from "../../packages/core/src/db";
import { LocalPlatform } from "../../packages/local/src/platform";
import { type CapturedChild, cleanUp, freshHome as freshHomeIn, spawnCaptured } from "../support/child-homes";
import { migrateSource } from "../../packages/local/src/commands/migrate";

const ROOT = path.resolve(__dirname, "../..");
const BIN = path.join(ROOT, "packages/local/bin/leadpipe.js");
const CUSTOMERS = 12_000;
const PROSPECTS = 1_000;
const RANGE_ROWS = 500;
const RANGES = Math.ceil(CUSTOMERS / RANGE_ROWS) + Math.ceil(PROSPECTS / RANGE_ROWS);
/** Kill once this many ranges of the first table are checkpointed (tables are read in name order). */
const KILL_AT_RANGE = 4;

let tmp: string;
let file: string;
const children = new Set<ChildProcess>();

type Child = CapturedChild;

/** `leadpipe migrate …` on a LEADPIPE_HOME, in a process group of its own (so the test can kill it whole). */
function migrate(home: string, args: string[]): Child {
  const env: NodeJS.ProcessEnv = { ...process.env, LEADPIPE_HOME: home, LOG_LEVEL: "warn" };
  delete env.DATABASE_URL;
  return spawnCaptured(
    process.execPath,
    ["--single-threaded-gc", BIN, "migrate", ...args],
    { cwd: ROOT, detached: true, env },
    children,
  );
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs: number, child: Child): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (child.exitCode !== null)
      throw new Error(`leadpipe migrate exited (${child.exitCode}) before ${what}:\n${child.err()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${child.err()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => child.once("exit", () => r()));

const freshHome = (name: string) => freshHomeIn(tmp, name);

/** The landed records, without what differs between two databases (ids, times, import ids). */
const LANDED = `
  SELECT count(*)::int AS n, count(DISTINCT source_key)::int AS keys,
         md5(string_agg(concat_ws('|', source_key, first_name, last_name, email, dob::text, raw::text), E'\\n'
             ORDER BY source_key)) AS checksum
    FROM person_records WHERE source_kind = 'legacy-contacts'`;
const landed = async (db: Queryable) =>
  (await db.query<{ n: number; keys: number; checksum: string }>(LANDED)).rows[0]!;

beforeAll(async () => {
  process.env.LOG_LEVEL = "silent";
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-migrate-kill-"));
  let Database: typeof import("better-sqlite3");
  try {
    Database = (await import("better-sqlite3")).default;
  } catch (err) {
    throw new Error(`better-sqlite3 cannot load (npm rebuild better-sqlite3): ${(err as Error).message}`);
  }
  file = path.join(tmp, "crm.sqlite");
  const db = new Database(file);
  db.exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, fname TEXT, lname TEXT, email TEXT, phone TEXT, zip TEXT,
                                   dob DATE, balance NUMERIC, notes TEXT);
           CREATE TABLE prospects (pid INTEGER PRIMARY KEY, full_name TEXT, e_mail TEXT);`);
  const c = db.prepare("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  const p = db.prepare("INSERT INTO prospects VALUES (?, ?, ?)");
  db.transaction(() => {
    for (let i = 1; i <= CUSTOMERS; i++) {
      // Every 97th e-mail is rejected by the import's rules (quarantined), every 101st birth date is a zero date.
      const email = i % 97 === 0 ? `not-an-email-${i}` : `c${i}@example.com`;
      const dob = i % 101 === 0 ? "0000-00-00" : `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`;
      c.run(
        i,
        `First${i}`,
        `Last${i % 5000}`,
        email,
        `617555${String(i % 10000).padStart(4, "0")}`,
        "02116",
        dob,
        (i * 1.25).toFixed(2),
        i % 3 ? null : "",
      );
    }
    for (let i = 1; i <= PROSPECTS; i++) p.run(i * 7, `Pro Spect${i}`, `p${i}@example.com`);
  })();
  db.close();
}, 120_000);

afterAll(() => cleanUp(tmp, ["clean", "killed"], children));

describe("kill -9 of leadpipe migrate mid-table, then --resume", () => {
  it("reconciles every table and lands exactly what a clean run lands, no record twice", async () => {
    const from = `sqlite:${file}`;
    const home = freshHome("killed");
    const first = migrate(home, ["--from", from, "--range-rows", String(RANGE_ROWS)]);
    const runId = await until(
      "the run id",
      () => /migration run ([0-9a-f-]{36})/.exec(first.err())?.[1],
      300_000,
      first,
    );
    await until(
      `range ${KILL_AT_RANGE} of customers`,
      () => (first.err().includes(`customers: range ${KILL_AT_RANGE} (`) ? true : undefined),
      300_000,
      first,
    );
    process.kill(-first.pid!, "SIGKILL");
    await exited(first);
    expect(first.signalCode).toBe("SIGKILL");
    const checkpointed = [...first.err().matchAll(/^(\w+): range (\d+) \(/gm)].length;
    expect(checkpointed).toBeGreaterThanOrEqual(KILL_AT_RANGE + 1);
    expect(checkpointed).toBeLessThan(RANGES);

    const second = migrate(home, ["--from", from, "--resume", runId, "--json"]);
    await exited(second);
    expect(second.exitCode, second.err()).toBe(0);
    const resumed = JSON.parse(second.out().trim().split("\n").at(-1)!) as ReturnType<typeof Migration.summary>;
    const expected = [
      {
        table: "customers",
        source_rows: CUSTOMERS,
        loaded: CUSTOMERS - Math.floor(CUSTOMERS / 97),
        quarantined: Math.floor(CUSTOMERS / 97),
        dropped: 0,
        checksums_match: true,
      },
      {
        table: "prospects",
        source_rows: PROSPECTS,
        loaded: PROSPECTS,
        quarantined: 0,
        dropped: 0,
        checksums_match: true,
      },
    ];
    expect(resumed).toEqual({ run_id: runId, status: "COMPLETE", tables: expected });

    // The clean run: the same source on a platform nobody interrupts.
    const clean = await LocalPlatform.start({ home: freshHome("clean"), log: () => undefined });
    let cleanLanded: Awaited<ReturnType<typeof landed>>;
    try {
      const manifest = await migrateSource(clean, { from, rangeRows: RANGE_ROWS });
      expect(Migration.summary(manifest).tables).toEqual(expected);
      cleanLanded = await landed(clean.pool);
    } finally {
      await clean.close();
    }
    expect(cleanLanded.n).toBe(CUSTOMERS + PROSPECTS - Math.floor(CUSTOMERS / 97));

    const killed = await LocalPlatform.start({ home, log: () => undefined });
    try {
      expect(await landed(killed.pool)).toEqual({ ...cleanLanded, keys: cleanLanded.n });
      const {
        rows: [q],
      } = await killed.pool.query(
        "SELECT count(*)::int AS n, count(DISTINCT (table_name, pk))::int AS rows FROM migration_quarantine WHERE run_id = $1",
        [runId],
      );
      expect(q).toEqual({ n: Math.floor(CUSTOMERS / 97), rows: Math.floor(CUSTOMERS / 97) });
      // Every range has one checkpoint and one import that holds its rows.
      const {
        rows: [r],
      } = await killed.pool.query(
        `SELECT count(*)::int AS ranges, sum(source_rows)::int AS rows,
                count(*) FILTER (WHERE EXISTS (SELECT 1 FROM imports i WHERE i.object_key = m.object_key
                                                 AND i.status IN ('COMPLETE', 'COMPLETE_WITH_ERRORS')))::int AS imported
           FROM migration_ranges m WHERE run_id = $1`,
        [runId],
      );
      expect(r).toEqual({ ranges: RANGES, rows: CUSTOMERS + PROSPECTS, imported: RANGES });
    } finally {
      await killed.close();
    }
  }, 900_000);
});
