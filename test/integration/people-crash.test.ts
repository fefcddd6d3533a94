/**
 * kill -9 of a people worker, with real processes: a child resolves an import in batches of 40
 * (test/support/people-resolver.ts) against this test's PostgreSQL and is killed with SIGKILL
 * between two batches, or inside one (its transaction blocked on the links insert, after it has
 * updated the batch's records). The next run resumes, and every people table ends as a clean run's.
 */
import type { ChildProcess } from "node:child_process";
import { type CapturedChild, spawnCaptured } from "../support/child-homes";
import { wipePeople } from "../support/database";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPool, migrate, People, type Pool } from "@leadpipe/core";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";
import { syntheticPeople } from "../../packages/local/src/generate/people";

const ROOT = path.resolve(__dirname, "../..");
const WORKER = path.join(ROOT, "test/support/people-resolver.ts");
const IMPORT = "00000000-0000-4000-8000-000000000001";
const BATCH = 40;

let pg: RunningPostgres;
let pool: Pool;
let tmp: string;
const children = new Set<ChildProcess>();

// 150 synthetic people (about 290 records: 8 batches) and 30 namesakes (John Smith in one ZIP, each with a phone of
// their own), whose links depend on the counts of the whole import.
const contacts = [
  ...Array.from({ length: 30 }, (_v, i) => ({
    key: `smith-${i}`,
    input: { first_name: "John", last_name: "Smith", zip: "10001", phone: `(212) 555-${1000 + i}` },
  })),
  ...[...syntheticPeople({ people: 150, seed: "crash" })].map((r) => ({ key: r.id, input: r.input })),
];

async function land() {
  await People.upsertRecords(
    pool,
    contacts.map((c, i) =>
      People.recordRow(People.standardizeContact(c.input, new Date("2026-01-01")), {
        source_kind: "contacts",
        source_key: c.key,
        import_id: IMPORT,
        source_row: i + 2,
        src_seq: ((1n << 32n) + BigInt(i + 2)).toString(),
      }),
    ),
  );
}

const wipe = () => wipePeople(pool);

/** Every people table in full (timestamps and durations left out): a resumed run must leave exactly this. */
async function state() {
  const q = async (sql: string) => (await pool.query(sql)).rows;
  return {
    persons: await q(
      "SELECT person_id, first_name, middle_name, last_name, email, phone, dob, address_line1, city, state, zip5 FROM persons ORDER BY 1",
    ),
    records: await q("SELECT record_id, person_id, resolved_at IS NOT NULL AS resolved FROM person_records ORDER BY 1"),
    links: await q("SELECT record_id, matched_record_id, score, tier, reason FROM person_links ORDER BY 1, 2"),
    phones: await q("SELECT person_id, phone, verified, record_id, last_seq FROM person_phones ORDER BY 1, 2"),
    emails: await q("SELECT person_id, email, verified, record_id, last_seq FROM person_emails ORDER BY 1, 2"),
    addresses: await q(
      "SELECT person_id, address_line1, zip5, record_id, last_seq FROM person_addresses ORDER BY 1, 2, 3",
    ),
    keys: await q("SELECT key, record_id FROM person_keys ORDER BY 1, 2"),
    counts: await q("SELECT key, n FROM person_value_counts ORDER BY 1"),
    anchors: await q(
      "SELECT group_key, record_id, formal, zip5, phone7, email FROM person_anchor_members ORDER BY 1, 2",
    ),
    merges: await q("SELECT survivor_id, absorbed_id, moved_records, links FROM person_merges ORDER BY merge_id"),
    audit: await q("SELECT person_id, action, detail FROM merge_audit ORDER BY person_id, action, detail::text"),
    resolutions: await q("SELECT import_id, records, created, attached, merged, links FROM people_resolutions"),
    progress: await q("SELECT batches, records, merged, links FROM people_resolution_progress"),
  };
}

/**
 * The state with golden record ids numbered 1, 2, … in the order they were created: a batch rolled back has drawn ids
 * from the sequence (sequences are not transactional), so a resumed run's new golden records have the same order but
 * larger ids than a clean run's.
 */
async function normalState() {
  const s = await state();
  const ids = [...new Set([...s.persons.map((p) => p.person_id), ...s.merges.map((m) => m.absorbed_id)].map(Number))];
  const rank = new Map(ids.sort((a, b) => a - b).map((id, i) => [id, i + 1]));
  const renumber = (rows: Record<string, unknown>[]) =>
    rows.map((row) => {
      const out: Record<string, unknown> = { ...row };
      for (const k of ["person_id", "survivor_id", "absorbed_id"]) if (k in out) out[k] = rank.get(Number(out[k]));
      const detail = out.detail as Record<string, unknown> | undefined;
      if (detail?.absorbed !== undefined) out.detail = { ...detail, absorbed: rank.get(Number(detail.absorbed)) };
      return out;
    });
  return Object.fromEntries(Object.entries(s).map(([k, rows]) => [k, renumber(rows)]));
}

type Worker = CapturedChild;

/** The worker as a process of its own (the database URL in its environment, not on its command line). */
function worker(pauseAfterBatch?: number): Worker {
  const env: NodeJS.ProcessEnv = { ...process.env, RESOLVER_DATABASE_URL: pg.url, LOG_LEVEL: "warn" };
  if (pauseAfterBatch) env.PAUSE_AFTER_BATCH = String(pauseAfterBatch);
  return spawnCaptured(
    process.execPath,
    ["--import", "tsx", WORKER, IMPORT, String(BATCH)],
    { cwd: ROOT, env },
    children,
  );
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, child?: Worker): Promise<T> {
  // Generous: the worker loads under tsx, which takes a while on a busy machine.
  const deadline = Date.now() + 180_000;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (child && child.exitCode !== null)
      throw new Error(`the worker exited (${child.exitCode}) before ${what}:\n${child.err()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${child?.err() ?? ""}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function kill9(child: Worker) {
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGKILL");
  await exited;
  expect(child.signalCode).toBe("SIGKILL");
}

const committed = async () =>
  (await pool.query<{ batches: number; records: number }>("SELECT batches, records FROM people_resolution_progress"))
    .rows;
const resolvedRecords = async () =>
  (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM person_records WHERE resolved_at IS NOT NULL"))
    .rows[0]!.n;

let clean: Awaited<ReturnType<typeof normalState>>;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-people-crash-"));
  pg = await startPostgres(path.join(tmp, "pg"));
  pool = createPool(pg.url, 4);
  await migrate(pool);
  // The clean run: the same import, the same batches, never interrupted.
  await wipe();
  await land();
  await People.resolveImport({ pool }, IMPORT, undefined, { batchSize: BATCH });
  clean = await normalState();
}, 300_000);
afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await pool?.end();
  await pg?.stop();
  if (pg?.dataDir) rmSync(pg.dataDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(async () => {
  await wipe();
  await land();
});

describe("a people worker killed with kill -9", () => {
  it("between two batches: the committed batches stay, the next run resumes and ends as a clean run", async () => {
    expect(clean.records!.length).toBe(contacts.length);
    expect(clean.persons!.length).toBeLessThan(contacts.length); // some records were linked
    const child = worker(2);
    await until("batch 2", () => (child.out().includes("batch 2\n") ? true : undefined), child);
    await kill9(child);
    expect(await committed()).toEqual([{ batches: 2, records: 2 * BATCH }]);
    expect(await resolvedRecords()).toBe(2 * BATCH);

    await People.resolveImport({ pool }, IMPORT, undefined, { batchSize: BATCH });
    expect(await normalState()).toEqual(clean);
  }, 300_000);

  it("inside a batch: its transaction is rolled back whole, the next run resumes and ends as a clean run", async () => {
    // Holds inserts into person_links back: the worker's batch blocks there, after it has updated its records.
    const blocker = await pool.connect();
    try {
      const child = worker();
      await until("batch 1", () => (child.out().includes("batch 1\n") ? true : undefined), child);
      await blocker.query("BEGIN");
      await blocker.query("LOCK TABLE person_links IN SHARE MODE");
      const waiting = await until(
        "a batch blocked on its links",
        async () => {
          const { rows } = await pool.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO person_links%'`,
          );
          return rows[0]?.pid;
        },
        child,
      );
      await kill9(child);
      await blocker.query("ROLLBACK");
      // The killed worker's backend finds its client gone and aborts the batch's transaction.
      await until("the killed worker's backend to end", async () =>
        (await pool.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [waiting])).rowCount === 0
          ? true
          : undefined,
      );
      const [progress] = await committed();
      expect(progress!.batches).toBeGreaterThanOrEqual(1);
      expect(progress!.records).toBe(progress!.batches * BATCH);
      // Nothing of the batch in flight was kept: only the committed batches' records are resolved.
      expect(await resolvedRecords()).toBe(progress!.records);
    } finally {
      blocker.release();
    }

    await People.resolveImport({ pool }, IMPORT, undefined, { batchSize: BATCH });
    expect(await normalState()).toEqual(clean);
  }, 300_000);
});
