/**
 * The people consumer ends, in bounded memory, with a reason: an import's records are resolved in
 * batches (the same golden records as one pass), and an import whose resolution keeps failing is
 * recorded with its reason, alerted once and skipped, never blocking the imports after it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLogger, createPool, migrate, People, type Deps, type Pool } from "@leadpipe/core";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";
import { syntheticPeople } from "../../packages/local/src/generate/people";
import { localStateMachine, peopleAslPath } from "../../packages/local/src/platform";

let pg: RunningPostgres;
let pool: Pool;
let tmp: string;
const alerts: { subject: string; message: string }[] = [];
let deps: Deps;

const IMPORT = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const people = [...syntheticPeople({ people: 400, seed: "consumer" })];

/** Import n of a contacts file, COMPLETE, with its records upserted (what the contacts target does per chunk). */
async function land(n: number) {
  await pool.query(
    `INSERT INTO imports (id, bucket, object_key, event_key, file_name, source, kind, status)
     VALUES ($1, 'b', $2, $2, $3, 'contacts', 'contacts', 'COMPLETE')`,
    [IMPORT(n), `inbox/contacts/contacts-${n}.csv`, `contacts-${n}.csv`],
  );
  await People.upsertRecords(
    pool,
    people.map((r, i) =>
      People.recordRow(People.standardizeContact(r.input, new Date("2026-01-01")), {
        source_kind: "contacts",
        source_key: `${n}:${r.id}`,
        import_id: IMPORT(n),
        source_row: i + 2,
        src_seq: ((BigInt(n) << 32n) + BigInt(i + 2)).toString(),
      }),
    ),
  );
}

async function golden() {
  const { rows } = await pool.query(
    `SELECT array_agg(r.source_key ORDER BY r.source_key) AS records, p.first_name, p.last_name, p.email, p.phone, p.dob, p.address_line1, p.zip5
       FROM persons p JOIN person_records r USING (person_id) GROUP BY p.person_id ORDER BY 1`,
  );
  return rows;
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-people-consumer-"));
  process.env.LEADPIPE_FAULTS_DIR = path.join(tmp, "faults");
  mkdirSync(process.env.LEADPIPE_FAULTS_DIR);
  pg = await startPostgres(path.join(tmp, "pg"));
  pool = createPool(pg.url, 4);
  await migrate(pool);
  deps = {
    pool,
    log: createLogger({}, () => undefined),
    settings: { bucket: "b", chunkRows: 1000, maxFileBytes: 1 << 30 },
    notifier: {
      alert: async (subject, message) => {
        alerts.push({ subject, message });
      },
    },
    store: {
      head: async () => {
        throw new Error("unused");
      },
      read: async () => {
        throw new Error("unused");
      },
      write: async () => undefined,
    },
  };
});
afterAll(async () => {
  delete process.env.LEADPIPE_FAULTS_DIR;
  await pool?.end();
  await pg?.stop();
  if (pg?.dataDir) rmSync(pg.dataDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(async () => {
  alerts.length = 0;
  await pool.query(`TRUNCATE persons, person_records, person_keys, person_value_counts, person_links, person_no_links, person_phones,
    person_emails, person_addresses, person_overrides, person_merges, merge_audit, people_resolutions, people_failures, imports
    RESTART IDENTITY CASCADE`);
});

describe("resolution in bounded batches", () => {
  it("an import resolved 57 records at a time gives the golden records of one pass", async () => {
    await land(1);
    const onePass = await People.resolveImport({ pool }, IMPORT(1));
    const expected = await golden();
    expect(onePass.records).toBe(people.length);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(people.length);

    await pool.query(`TRUNCATE persons, person_records, person_keys, person_value_counts, person_links, person_phones, person_emails,
      person_addresses, person_merges, merge_audit, people_resolutions, imports RESTART IDENTITY CASCADE`);
    await land(1);
    const batched = await People.resolveImport({ pool }, IMPORT(1), undefined, { batchSize: 57 });
    expect(await golden()).toEqual(expected);
    expect({ ...batched, duration_ms: 0, links: 0 }).toEqual({ ...onePass, duration_ms: 0, links: 0 });
    // Each record resolved once, into exactly one golden record.
    const {
      rows: [r],
    } = await pool.query<{ unresolved: number }>(
      "SELECT count(*) FILTER (WHERE resolved_at IS NULL OR person_id IS NULL)::int AS unresolved FROM person_records",
    );
    expect(r!.unresolved).toBe(0);
  });
});

describe("the people loop (stacks/people.asl.json)", () => {
  it("a consumer out of time stops between batches, the loop invokes it again, and the golden records are one pass's", async () => {
    await land(1);
    await land(2);
    const onePass = await People.resolvePending(deps);
    expect(onePass).toMatchObject({ remaining: 0, paused: null, more: false });
    const expected = await golden();

    await pool.query(`TRUNCATE persons, person_records, person_keys, person_value_counts, person_links, person_phones,
      person_emails, person_addresses, person_merges, merge_audit, people_resolutions, imports RESTART IDENTITY CASCADE`);
    await land(1);
    await land(2);
    // The real ASL, run locally; each invocation's time is up at once: it resolves one batch of 200 and stops.
    const outputs: Awaited<ReturnType<typeof People.resolvePending>>[] = [];
    const consumer = (async () => {
      const out = await People.resolvePending(deps, { deadline: Date.now(), batchSize: 200 });
      outputs.push(out);
      return { Payload: out };
    }) as unknown as (input: unknown) => Promise<never>;
    const result = await localStateMachine(peopleAslPath).run(
      {},
      { overrides: { taskResourceLocalHandlers: { ResolvePeople: consumer } } },
    ).result;

    expect(await golden()).toEqual(expected);
    const batchesEach = Math.ceil(people.length / 200);
    expect(outputs).toHaveLength(2 * batchesEach);
    // Progress on the import in progress, batch by batch; the last invocation says there is no more.
    expect(outputs.slice(0, batchesEach - 1).map((o) => o.paused)).toEqual(
      Array.from({ length: batchesEach - 1 }, (_v, i) => ({
        import_id: IMPORT(1),
        paused: true,
        batches: i + 1,
        records: (i + 1) * 200,
        pending: people.length - (i + 1) * 200,
      })),
    );
    expect(outputs[batchesEach - 1]).toMatchObject({ paused: null, more: true, remaining: 1 });
    expect(outputs[batchesEach - 1]!.resolved.map((r) => r.importId)).toEqual([IMPORT(1)]);
    expect(outputs.at(-1)).toMatchObject({ paused: null, more: false, remaining: 0 });
    expect(result).toMatchObject({ more: false, remaining: 0, paused: null });
  });
});

describe("failures", () => {
  it("an import that keeps failing is recorded with its reason, alerted once and skipped; the imports after it are resolved", async () => {
    await land(1);
    await land(2);
    // Import 1 (the oldest, resolved first) fails on every attempt.
    for (let i = 0; i < People.PEOPLE_MAX_ATTEMPTS; i++)
      writeFileSync(path.join(process.env.LEADPIPE_FAULTS_DIR!, `people.resolve.${IMPORT(1)}.${i}.Error`), "");

    const first = await People.resolvePending(deps);
    expect(first.failed).toEqual([
      { importId: IMPORT(1), attempts: 1, reason: `Error: injected fault at people.resolve.${IMPORT(1)}` },
    ]);
    expect(first.resolved.map((r) => r.importId)).toEqual([IMPORT(2)]);
    expect(alerts).toEqual([]);

    await People.resolvePending(deps);
    const third = await People.resolvePending(deps);
    expect(third.failed).toEqual([expect.objectContaining({ importId: IMPORT(1), attempts: 3 })]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.subject).toBe("leadpipe people resolution FAILED: contacts-1.csv");
    expect(alerts[0]!.message).toContain(`injected fault at people.resolve.${IMPORT(1)}`);
    expect(alerts[0]!.message).toContain(`DELETE FROM people_failures WHERE import_id = '${IMPORT(1)}'`);

    // Skipped from now on (no ticket left, but it is not tried again), until its failure row is deleted.
    expect(await People.resolvePending(deps)).toEqual({
      resolved: [],
      failed: [],
      remaining: 0,
      more: false,
      paused: null,
    });
    const { rows } = await pool.query("SELECT import_id, attempts, reason FROM people_failures");
    expect(rows).toEqual([
      { import_id: IMPORT(1), attempts: 3, reason: `Error: injected fault at people.resolve.${IMPORT(1)}` },
    ]);
    await pool.query("DELETE FROM people_failures WHERE import_id = $1", [IMPORT(1)]);
    const retried = await People.resolvePending(deps);
    expect(retried.resolved.map((r) => r.importId)).toEqual([IMPORT(1)]);
    expect(retried.resolved[0]!.people!.records).toBe(people.length);
  });
});
