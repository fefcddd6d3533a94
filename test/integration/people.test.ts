import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPool, migrate, People, type Pool, type Queryable } from "@leadpipe/core";
import * as Matching from "@leadpipe/core/matching";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";
import { syntheticPeople } from "../../packages/local/src/generate/people";
import { wipePeople } from "../support/database";

let pg: RunningPostgres;
let pool: Pool;
let tmp: string;

const IMPORT = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

/** Standardizes contacts and upserts them as import n's records (what the contacts target does per chunk). */
async function land(
  n: number,
  contacts: { key: string; input: People.ContactInput; phoneVerified?: boolean }[],
  db: Queryable = pool,
) {
  const rows = contacts.map((c, i) => ({
    ...People.recordRow(People.standardizeContact(c.input, new Date("2026-01-01")), {
      source_kind: "contacts",
      source_key: c.key,
      import_id: IMPORT(n),
      source_row: i + 2,
      src_seq: ((BigInt(n) << 32n) + BigInt(i + 2)).toString(),
    }),
    phone_verified: c.phoneVerified ?? false,
  }));
  return People.upsertRecords(db, rows);
}
const resolve = (n: number) => People.resolveImport({ pool }, IMPORT(n));

/** Golden records as sets of source keys with their surviving fields: what matters, free of ids and timestamps. */
async function golden() {
  const { rows } = await pool.query(
    `SELECT array_agg(r.source_key ORDER BY r.source_key) AS records, p.first_name, p.last_name, p.email, p.phone, p.dob, p.address_line1, p.zip5
       FROM persons p JOIN person_records r USING (person_id) GROUP BY p.person_id ORDER BY 1`,
  );
  return rows;
}

/** Golden records as their source keys, each "a b c", sorted. */
const partitionOf = async () => (await golden()).map((g) => (g.records as string[]).join(" ")).sort();

/** Every people table in full, for exact before/after comparisons (timestamps left out). */
async function snapshot() {
  const q = async (sql: string) => (await pool.query(sql)).rows;
  return {
    persons: await q(
      "SELECT person_id, first_name, middle_name, last_name, name_suffix, email, phone, dob, address_line1, city, state, zip5, zip4 FROM persons ORDER BY 1",
    ),
    records: await q("SELECT record_id, person_id, source_key FROM person_records ORDER BY 1"),
    links: await q("SELECT record_id, matched_record_id, score, tier, reason FROM person_links ORDER BY 1, 2"),
    phones: await q("SELECT person_id, phone, verified, record_id FROM person_phones ORDER BY 1, 2"),
    emails: await q("SELECT person_id, email, verified, record_id FROM person_emails ORDER BY 1, 2"),
    addresses: await q("SELECT person_id, address_line1, zip5, record_id FROM person_addresses ORDER BY 1, 2, 3"),
    overrides: await q("SELECT person_id, field, value, set_by FROM person_overrides ORDER BY 1, 2"),
    keys: await q("SELECT key, record_id FROM person_keys ORDER BY 1, 2"),
  };
}

const wipe = () => wipePeople(pool);

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-people-"));
  pg = await startPostgres(path.join(tmp, "pg"));
  pool = createPool(pg.url, 6);
  await migrate(pool);
});
afterAll(async () => {
  await pool?.end();
  await pg?.stop();
  if (pg?.dataDir) rmSync(pg.dataDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(wipe);

describe("incremental resolution", () => {
  // 600 synthetic people; import 1 lands two thirds of their records, import 2 the rest plus a third again (overlap).
  const all = [...syntheticPeople({ people: 600, seed: "integration" })].map((r) => ({
    key: r.id,
    input: r.input,
    person: r.personId,
  }));
  const one = all.filter((_r, i) => i % 3 !== 2);
  const two = all.filter((_r, i) => i % 3 !== 0).map((r) => ({ ...r, key: `${r.key}-again` }));

  it("two imports with overlapping people give the same golden records at the same time as one after the other", async () => {
    await land(1, one);
    await land(2, two);
    const sequential = [await resolve(1), await resolve(2)];
    const afterSequential = await golden();
    await wipe();
    await land(1, one);
    await land(2, two);
    const concurrent = await Promise.all([resolve(2), resolve(1)]);
    expect(await golden()).toEqual(afterSequential);
    // Whichever ran first, every record was resolved once and the totals agree.
    expect(concurrent.reduce((s, r) => s + r.records, 0)).toBe(sequential.reduce((s, r) => s + r.records, 0));
    expect(concurrent.reduce((s, r) => s + r.records, 0)).toBe(one.length + two.length);
    // And the result is right: pairwise F1 against the truth.
    const truth = new Map([...one, ...two].map((r) => [r.key, r.person]));
    const { rows } = await pool.query<{ source_key: string; person_id: number }>(
      "SELECT source_key, person_id FROM person_records",
    );
    const s = Matching.pairwiseScores(
      rows.map((r) => truth.get(r.source_key)!),
      rows.map((r) => r.person_id),
    );
    expect(s.precision).toBeGreaterThan(0.99);
    expect(s.recall).toBeGreaterThan(0.95);
  });

  it("a replay of a resolved import changes nothing and keeps golden ids", async () => {
    await land(1, one);
    const first = await resolve(1);
    const before = await snapshot();
    await land(1, one);
    expect(await resolve(1)).toEqual(first);
    expect(await snapshot()).toEqual(before);
    expect(first).toMatchObject({ records: one.length, merged: 0 });
  });
});

describe("batches and order", () => {
  // 50 synthetic people (about 90 records) and 120 namesakes: John Smith in one ZIP, each with a phone of their own.
  // Whether two namesakes are one person depends on how common the name is in the population: counted batch by
  // batch, the first batches saw a rare name and linked them; counted for the whole import first, they stay apart.
  const namesakes = Array.from({ length: 120 }, (_v, i) => ({
    key: `smith-${i}`,
    input: { first_name: "John", last_name: "Smith", zip: "10001", phone: `(212) 555-${1000 + i}` },
  }));
  const all = [
    ...namesakes,
    ...[...syntheticPeople({ people: 50, seed: "batches" })].map((r) => ({ key: r.id, input: r.input })),
  ];

  it("batches of one record give the golden records of one pass, and so does the same list in another order", async () => {
    await land(1, all);
    const onePass = await People.resolveImport({ pool }, IMPORT(1), undefined, { batchSize: all.length });
    const expected = await golden();
    const expectedPartition = await partitionOf();
    expect(onePass.records).toBe(all.length);
    expect(new Set(expectedPartition).size).toBeLessThan(all.length); // some records were linked

    await wipe();
    await land(1, all);
    const oneByOne = await People.resolveImport({ pool }, IMPORT(1), undefined, { batchSize: 1 });
    expect(await golden()).toEqual(expected);
    expect(oneByOne).toMatchObject({ records: all.length, links: onePass.links });
    // A batch creates a golden record that a later batch may merge into an older one.
    expect(oneByOne.created - oneByOne.merged).toBe(onePass.created - onePass.merged);

    // Reversed and interleaved: other record ids, other source rows; the same people.
    await wipe();
    const shuffled = [...all].reverse().sort((a, b) => (a.key.length % 3) - (b.key.length % 3));
    await land(1, shuffled);
    await People.resolveImport({ pool }, IMPORT(1), undefined, { batchSize: 7 });
    expect(await partitionOf()).toEqual(expectedPartition);

    // Each batch is its own transaction: a worker that dies after its second batch leaves two batches
    // resolved; the next run resumes from the records still unresolved and ends where one pass did.
    await wipe();
    await land(1, all);
    const crash = (batch: number) => {
      if (batch === 2) throw new Error("the worker died");
    };
    await expect(
      People.resolveImport({ pool }, IMPORT(1), undefined, { batchSize: 40, afterBatch: crash }),
    ).rejects.toThrow("the worker died");
    const { rows: progress } = await pool.query("SELECT batches, records FROM people_resolution_progress");
    expect(progress).toEqual([{ batches: 2, records: 80 }]);
    const resumed = await People.resolveImport({ pool }, IMPORT(1), undefined, { batchSize: 40 });
    expect(await golden()).toEqual(expected);
    expect(resumed).toMatchObject({ records: all.length, links: onePass.links });
    expect(resumed.created - resumed.merged).toBe(onePass.created - onePass.merged);
    expect((await pool.query("SELECT count(*)::int AS n FROM people_resolution_progress")).rows[0].n).toBe(0);
  });

  it("a batch whose candidates would pass the bound resolves fewer records, to the same golden records", async () => {
    // The same people delivered again by a second import: its records' candidates are the first import's.
    const people = all.slice(namesakes.length);
    const again = people.map((r) => ({ ...r, key: `${r.key}-again` }));
    await land(1, people);
    await land(2, again);
    await resolve(1);
    const unbounded = await People.resolveImport({ pool }, IMPORT(2), undefined, { batchSize: again.length });
    const expected = await golden();

    await wipe();
    await land(1, people);
    await land(2, again);
    await resolve(1);
    let batches = 0;
    const largest: number[] = [];
    const logged: { records: number; candidates: number }[] = [];
    const log = {
      info: (msg: string, fields?: Record<string, unknown>) => {
        if (msg === "people batch resolved") logged.push(fields as { records: number; candidates: number });
      },
      warn: () => {},
      error: () => {},
      child: () => log,
    };
    const bounded = await People.resolveImport({ pool, log }, IMPORT(2), undefined, {
      batchSize: again.length,
      maxCandidates: 25,
      afterBatch: async () => {
        batches++;
        const { rows } = await pool.query<{ records: number }>(
          "SELECT records FROM people_resolution_progress WHERE import_id = $1",
          [IMPORT(2)],
        );
        largest.push(rows[0]!.records);
      },
    });
    expect(await golden()).toEqual(expected);
    expect(bounded).toMatchObject({ records: again.length, links: unbounded.links, merged: unbounded.merged });
    // One batch of every record unbounded; bounded, many, each taking some records and the last the rest.
    expect(batches).toBeGreaterThan(3);
    expect(largest.at(-1)).toBeLessThan(again.length);
    expect(new Set(largest).size).toBe(largest.length); // each batch resolved at least one record
    // The log says what each batch took: within the bound, unless one record alone brings more.
    expect(logged).toHaveLength(batches);
    expect(logged.map((b) => b.records)).toEqual(largest.map((n, i) => n - (largest[i - 1] ?? 0)));
    for (const b of logged) expect(b.candidates <= 25 || b.records === 1).toBe(true);
    expect(Math.max(...logged.map((b) => b.candidates))).toBeGreaterThan(10);
  });
});

describe("name frequencies in the database", () => {
  const all = [...syntheticPeople({ people: 600, seed: "frequencies" })].map((r) => ({ key: r.id, input: r.input }));
  const first = all.slice(0, 800),
    second = all.slice(800);
  const profileOf = (input: People.ContactInput) =>
    People.profileOf(People.standardizeContact(input, new Date("2026-01-01")));
  // The counts, but the markers that the anchored totals and the area codes are kept (seedAnchors, Store.seedRegions).
  const counts = async () =>
    new Map(
      (
        await pool.query<{ key: string; n: number }>(
          "SELECT key, n FROM person_value_counts WHERE left(key, 2) <> '#!'",
        )
      ).rows.map((r) => [r.key, Number(r.n)]),
    );

  it("an import is matched with the counts of the population it joins, as the in-memory matcher does when it counts each batch before matching it", async () => {
    await land(1, first);
    await resolve(1);
    await land(2, second);
    await resolve(2);
    const { rows } = await pool.query<{ source_key: string; person_id: number }>(
      "SELECT source_key, person_id FROM person_records",
    );
    const stored = new Map(rows.map((r) => [r.source_key, r.person_id]));

    const frequencies = new People.Frequencies();
    const matcher = new People.Matcher({ frequencies });
    for (const batch of [first, second]) {
      const profiles = batch.map((r) => profileOf(r.input));
      for (const p of profiles) frequencies.count(p);
      for (const p of profiles) matcher.add(p);
    }
    const partition = (clusterOf: (i: number) => number) => {
      const groups = new Map<number, string[]>();
      all.forEach((r, i) => groups.set(clusterOf(i), [...(groups.get(clusterOf(i)) ?? []), r.key]));
      return [...groups.values()].map((g) => g.sort().join(" ")).sort();
    };
    const clusters = matcher.clusters();
    expect(partition((i) => stored.get(all[i]!.key)!)).toEqual(partition((i) => clusters[i]!));
    // The stored counts are the population's.
    expect(Object.fromEntries(await counts())).toEqual(Object.fromEntries([...frequencies.entries()]));
  });

  it("a newer delivery of a record takes its old values away; counts lost or never kept are rebuilt from the resolved records", async () => {
    await land(1, first);
    await resolve(1);
    const before = await counts();
    const old = profileOf(first[0]!.input);
    await land(2, [
      { key: first[0]!.key, input: { ...first[0]!.input, first_name: "Zebulon", last_name: "Quagmire" } },
    ]);
    await resolve(2);
    const after = await counts();
    expect(after.get("#")).toBe(before.get("#"));
    expect(after.get(`#g:${old.formal}`)).toBe(before.get(`#g:${old.formal}`)! - 1);
    expect([after.get("#g:zebulon"), after.get("#l:quagmire")]).toEqual([1, 1]);
    await pool.query("TRUNCATE person_value_counts");
    await land(3, [{ key: "one-more", input: { first_name: "Zebulon", last_name: "Quagmire", zip: "02116" } }]);
    await resolve(3);
    const rebuilt = await counts();
    expect([
      rebuilt.get("#"),
      rebuilt.get("#g:zebulon"),
      rebuilt.get("#z:02116"),
      rebuilt.get(`#g:${old.formal}`),
    ]).toEqual([after.get("#")! + 1, 2, (after.get("#z:02116") ?? 0) + 1, after.get(`#g:${old.formal}`)]);
  });

  /** The population as the code before the area codes left it: no "#r" counts, no marker, no "#r" key among counted_keys. */
  const countedBeforeRegions = async () => {
    await pool.query("DELETE FROM person_value_counts WHERE left(key, 2) = '#r' OR key = '#!regions'");
    await pool.query(
      "UPDATE person_records SET counted_keys = array(SELECT k FROM unnest(counted_keys) k WHERE left(k, 3) <> '#r:')",
    );
  };
  /** Asserts that the stored area codes by ZIP3 ("#r:…" and their total "#r") are those counted afresh from the resolved records; returns them. */
  const expectRegionsRecounted = async () => {
    const stored = [...(await counts())].filter(([k]) => k === "#r" || k.startsWith("#r:"));
    const { rows } = await pool.query<{ phone: string | null; zip5: string | null }>(
      "SELECT phone, zip5 FROM person_records WHERE resolved_at IS NOT NULL",
    );
    const recount = new Map<string, number>();
    for (const r of rows) {
      const key = People.regionKey(r);
      if (key === null) continue;
      recount.set(key, (recount.get(key) ?? 0) + 1);
      recount.set("#r", (recount.get("#r") ?? 0) + 1);
    }
    const sorted = (m: Iterable<[string, number]>) => Object.fromEntries([...m].filter(([, n]) => n !== 0).sort());
    expect(sorted(stored)).toEqual(sorted(recount));
    return recount;
  };
  /** A record of the first import with a US phone and a ZIP, and its area code by ZIP3. */
  const withRegion = first.find((x) => People.regionKey(profileOf(x.input)) !== null)!;
  const itsRegion = People.regionKey(profileOf(withRegion.input))!;

  it("area codes by ZIP3 are counted from the resolved records of a population counted before them, once", async () => {
    await land(1, first);
    await resolve(1);
    await countedBeforeRegions();
    await land(2, second);
    await resolve(2);
    const f = new People.Frequencies();
    for (const r of all) f.count(profileOf(r.input));
    expect(Object.fromEntries(await counts())).toEqual(Object.fromEntries(f.entries()));
    expect(f.get("#r")).toBeGreaterThan(300);
    // A newer delivery of a record of the first import without its phone takes its seeded key away.
    await land(3, [{ key: withRegion.key, input: { ...withRegion.input, phone: null } }]);
    await resolve(3);
    const after = await counts();
    expect([after.get("#r"), after.get(itsRegion) ?? 0]).toEqual([f.get("#r") - 1, f.get(itsRegion) - 1]);
  });

  it("an import whose batches began before the area codes were counted is counted with them when it resumes after the seed", async () => {
    await land(1, first);
    // Its first batch resolved, the rest counted at its start (without area codes) and still pending.
    await expect(
      People.resolveImport({ pool }, IMPORT(1), undefined, {
        batchSize: 300,
        afterBatch: () => {
          throw new Error("stopped after a batch");
        },
      }),
    ).rejects.toThrow("stopped after a batch");
    await countedBeforeRegions();
    await land(2, second);
    await resolve(2); // seeds the area codes while import 1 is half done
    await resolve(1);
    expect((await expectRegionsRecounted()).get("#r")).toBeGreaterThan(300);
  });

  it("a record re-delivered but not yet counted again when the area codes are lost counts the key of its last resolution until then", async () => {
    await land(1, first);
    await resolve(1);
    await land(2, [{ key: withRegion.key, input: { ...withRegion.input, phone: null } }]);
    // The area codes' counts lost, the records' counted_keys kept: import 2's count takes the old key away.
    await pool.query("DELETE FROM person_value_counts WHERE left(key, 2) = '#r' OR key = '#!regions'");
    await resolve(2);
    expect((await expectRegionsRecounted()).get("#r")).toBeGreaterThan(300);
  });

  it("a contacts promotion that re-delivers a resolved record while the area codes are seeded leaves them a fresh count", async () => {
    await land(1, first);
    await resolve(1);
    await countedBeforeRegions();
    const moved = { ...withRegion.input, phone: itsRegion.startsWith("#r:212") ? "(415) 555-0142" : "(212) 555-0142" };
    // The promotion (people_upsert_rows, as promote_contacts runs it) on a connection of its own, not yet committed.
    const promotion = await pool.connect();
    try {
      await promotion.query("BEGIN");
      await land(3, [{ key: withRegion.key, input: moved }], promotion);
      const pid = (await promotion.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      await land(2, second);
      // The seed (resolving import 2) counts the record as resolved, then waits on the promotion's lock of its row.
      let settled = false;
      const resolving = resolve(2).finally(() => {
        settled = true;
      });
      const waiting = async () =>
        (await pool.query("SELECT 1 FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))", [pid])).rowCount;
      while (!settled && !(await waiting())) await new Promise((done) => setTimeout(done, 5));
      expect(settled).toBe(false);
      await promotion.query("COMMIT");
      await resolving;
    } finally {
      await promotion.query("ROLLBACK"); // after COMMIT, a warning; before it (a failed expectation), the seed goes on
      promotion.release();
    }
    await resolve(3);
    expect((await expectRegionsRecounted()).get(People.regionKey(profileOf(moved))!)).toBeGreaterThan(0);
  });
});

const ann = {
  first_name: "Ann",
  last_name: "Lee",
  email: "ann.lee@example.com",
  street: "12 Elm St",
  city: "Boston",
  state: "MA",
  zip: "02116",
};

describe("survivorship and audit", () => {
  it("most recent source, then most complete record, then a verified contact point; a manual override wins over all", async () => {
    await land(1, [
      { key: "a1", input: { ...ann, phone: "617-555-0101", dob: "1980-01-02" } },
      {
        key: "a2",
        input: { first_name: "Ann", last_name: "Lee", email: "ann.lee@example.com", phone: "617-555-0199" },
        phoneVerified: true,
      },
    ]);
    await resolve(1);
    let p = (await pool.query("SELECT * FROM persons")).rows;
    expect(p).toHaveLength(1);
    // One import: the more complete record (a1) gives the phone although a2's is verified.
    expect(p[0]).toMatchObject({
      first_name: "Ann",
      last_name: "Lee",
      phone: "+16175550101",
      dob: "1980-01-02",
      address_line1: "12 ELM ST",
      zip5: "02116",
    });
    await land(2, [{ key: "a3", input: { ...ann, street: "9 Oak Ave", zip: "02118", email: "ann.lee@example.com" } }]);
    await resolve(2);
    p = (await pool.query("SELECT * FROM persons")).rows;
    expect(p[0]).toMatchObject({ address_line1: "9 OAK AVE", zip5: "02118", phone: "+16175550101", dob: "1980-01-02" });
    const audit = (
      await pool.query("SELECT action, detail FROM merge_audit WHERE action = 'survive' ORDER BY audit_id DESC LIMIT 1")
    ).rows[0];
    expect(audit.detail.address_line1).toEqual({ value: "9 OAK AVE", record_id: 3, rule: "most recent source" });
    expect(audit.detail.phone).toEqual({ value: "+16175550101", record_id: 1, rule: "most complete record" });
    await pool.query("SELECT people_override($1, 'last_name', 'Lee-Park', 'ops@example.com', 'married')", [
      p[0].person_id,
    ]);
    expect((await pool.query("SELECT last_name FROM persons")).rows[0].last_name).toBe("Lee-Park");
    const last = (
      await pool.query("SELECT detail FROM merge_audit WHERE action = 'survive' ORDER BY audit_id DESC LIMIT 1")
    ).rows[0];
    expect(last.detail.last_name).toEqual({ value: "Lee-Park", record_id: null, rule: "manual override" });
    expect((await pool.query("SELECT count(*)::int AS n FROM person_phones")).rows[0].n).toBe(2);
    expect((await pool.query("SELECT count(*)::int AS n FROM person_addresses")).rows[0].n).toBe(2);
  });
});

describe("merge and unmerge", () => {
  it("unmerge restores exactly the pre-merge links and fields", async () => {
    await land(1, [
      { key: "a1", input: ann },
      { key: "a2", input: { ...ann, phone: "617-555-0101" } },
      {
        key: "b1",
        input: { first_name: "Bo", last_name: "Chen", email: "bo@example.com", zip: "10001", phone: "212-555-0111" },
      },
      { key: "b2", input: { first_name: "Bo", last_name: "Chen", phone: "212-555-0111", dob: "1975-05-05" } },
    ]);
    await resolve(1);
    await pool.query("SELECT people_override(2, 'first_name', 'Bob', 'ops', NULL)");
    const before = await snapshot();
    expect(before.persons.map((p) => p.first_name)).toEqual(["Ann", "Bob"]);
    const merge = (await pool.query("SELECT people_merge(1, 2, 'manual', '[]') AS id")).rows[0].id;
    const merged = await snapshot();
    expect(merged.persons).toHaveLength(1);
    expect(merged.records.map((r) => r.person_id)).toEqual(["1", "1", "1", "1"].map(Number));
    await pool.query("SELECT people_unmerge($1, 'ops')", [merge]);
    expect(await snapshot()).toEqual(before);
    await expect(pool.query("SELECT people_unmerge($1, 'ops')", [merge])).rejects.toThrow(/was already undone/);
  });

  it("a record that bridges two golden records merges them with the links that did it; unmerging restores the absorbed one and they stay apart", async () => {
    await land(1, [
      { key: "x", input: { first_name: "Dana", last_name: "Ruiz", email: "dana@example.com" } },
      { key: "y", input: { first_name: "Dana", last_name: "Ruiz", phone: "305-555-0142" } },
    ]);
    await resolve(1);
    const before = await snapshot();
    expect(before.persons).toHaveLength(2);
    await land(2, [
      { key: "z", input: { first_name: "Dana", last_name: "Ruiz", email: "dana@example.com", phone: "305-555-0142" } },
    ]);
    expect(await resolve(2)).toMatchObject({ records: 1, created: 0, attached: 1, merged: 1, links: 2 });
    const m = (
      await pool.query("SELECT merge_id, survivor_id, absorbed_id, moved_records, links, cause FROM person_merges")
    ).rows;
    expect(m).toEqual([
      {
        merge_id: 1,
        survivor_id: 1,
        absorbed_id: 2,
        moved_records: ["2"],
        cause: "match",
        links: [{ record_id: 3, matched_record_id: 2, score: 0.97, tier: "exact", reason: "exact: phone" }],
      },
    ]);
    expect(
      (await pool.query("SELECT record_id, matched_record_id, reason FROM person_links ORDER BY 1, 2")).rows,
    ).toEqual([
      { record_id: 3, matched_record_id: 1, reason: "exact: e-mail" },
      { record_id: 3, matched_record_id: 2, reason: "exact: phone" },
    ]);
    await pool.query("SELECT people_unmerge(1, 'ops')");
    const after = await snapshot();
    expect(after.persons.find((p) => p.person_id === 2)).toEqual(before.persons.find((p) => p.person_id === 2));
    expect(after.records).toEqual([...before.records, { record_id: 3, person_id: 1, source_key: "z" }]);
    expect(after.links).toEqual([
      { record_id: 3, matched_record_id: 1, score: "1.000", tier: "exact", reason: "exact: e-mail" },
    ]);
    // The split pair is remembered: the same record again from a newer delivery does not re-merge them.
    await land(3, [
      {
        key: "z",
        input: {
          first_name: "Dana",
          last_name: "Ruiz",
          email: "dana@example.com",
          phone: "(305) 555-0142",
          dob: "1990-09-09",
        },
      },
    ]);
    expect(await resolve(3)).toMatchObject({ records: 1, merged: 0 });
    expect((await pool.query("SELECT count(*)::int AS n FROM persons")).rows[0].n).toBe(2);
  });

  it("a record that links to two golden records born on different days joins the stronger link and merges nothing, as leadpipe match clusters it", async () => {
    const home = {
      first_name: "James",
      last_name: "Wilson",
      street: "2901 Church St",
      city: "Louisville",
      zip: "40202",
    };
    const father = { ...home, dob: "1961-04-02", phone: "502-555-0163" };
    const son = { ...home, dob: "1987-10-30", phone: "502-555-0178" };
    // No date of birth: the father's landline (exact: phone, 0.97) and the son's house (strong: first + last + ZIP, 0.95).
    const undated = { ...home, phone: "502-555-0163" };
    await land(1, [
      { key: "father", input: father },
      { key: "son", input: son },
    ]);
    await resolve(1);
    await land(2, [{ key: "undated", input: undated }]);
    expect(await resolve(2)).toMatchObject({ records: 1, created: 0, attached: 1, merged: 0, links: 1 });
    expect(await partitionOf()).toEqual(["father undated", "son"]);
    expect(
      (await pool.query("SELECT record_id, matched_record_id, reason FROM person_links ORDER BY 1, 2")).rows,
    ).toEqual([{ record_id: 3, matched_record_id: 1, reason: "exact: phone" }]);
    const offline = Matching.clusterContacts(
      Object.entries({ father, son, undated }).map(([id, input]) => ({ id, input })),
    );
    expect(offline.rows.map((r) => r.clusterId)).toEqual(["father", "son", "father"]);
    expect(offline.summary.links).toBe(1);
  });

  it("reads the resolved records' middle names and suffixes: a Sr. and a Jr. at one house stay two people, as leadpipe match has them", async () => {
    const home = { first_name: "Robert", last_name: "Smith", street: "12 Elm St", city: "Boston", zip: "02116" };
    const junior = { ...home, suffix: "Jr.", phone: "617-555-0101" };
    const senior = { ...home, last_name: "Smith Sr", phone: "617-555-0177" };
    const anna = { ...home, first_name: "Anna", middle_name: "J." };
    const annaK = { ...home, first_name: "Anna", middle_name: "Kay" };
    await land(1, [
      { key: "junior", input: junior },
      { key: "anna", input: anna },
    ]);
    await resolve(1);
    await land(2, [
      { key: "senior", input: senior },
      { key: "anna-k", input: annaK },
    ]);
    expect(await resolve(2)).toMatchObject({ records: 2, created: 2, attached: 0, merged: 0, links: 0 });
    expect(await partitionOf()).toEqual(["anna", "anna-k", "junior", "senior"]);
    const offline = Matching.clusterContacts(
      Object.entries({ junior, anna, senior, annaK }).map(([id, input]) => ({ id, input })),
    );
    expect(offline.rows.map((r) => r.clusterId)).toEqual(["junior", "anna", "senior", "annaK"]);
  });
});

describe("the house-and-street keys (migration 357)", () => {
  const at = (zip: string | null, city: string, phone: string): People.ContactInput => ({
    first_name: "Robert",
    last_name: "Smith",
    street: "12 Elm St",
    city,
    phone,
    ...(zip ? { zip } : {}),
  });
  const boston = { key: "boston", input: at("02116", "Boston", "617-555-0101") };
  const denver = { key: "denver", input: at("80214", "Denver", "303-555-0199") };
  const noZip = { key: "nozip", input: at(null, "Boston", "617-555-0177") };

  it("a record without a ZIP meets its home's records in another import, first or last; two ZIPs do not meet", async () => {
    await land(1, [boston, denver]);
    await resolve(1);
    await land(2, [noZip]);
    await resolve(2);
    expect(await partitionOf()).toEqual(["boston nozip", "denver"]);
    // Neither record with a ZIP looks the other up: Boston's was compared with no one when Denver's was resolved.
    const keys = async (key: string) =>
      (
        await pool.query<{ key: string }>(
          "SELECT k.key FROM person_keys k JOIN person_records r USING (record_id) WHERE r.source_key = $1 AND k.key ~ '^[snx]:' ORDER BY 1",
          [key],
        )
      ).rows.map((r) => r.key);
    expect(await keys("boston")).toEqual(["s:12|ELM", "x:12|ELM|01126"]);
    expect(await keys("nozip")).toEqual(["n:12|ELM", "s:12|ELM"]);

    await wipe();
    await land(1, [noZip]);
    await resolve(1);
    await land(2, [denver, boston]);
    await resolve(2);
    expect(await partitionOf()).toEqual(["boston nozip", "denver"]);
  });

  it("gives the records resolved before it the keys a resolution writes now", async () => {
    const people = [...syntheticPeople({ people: 600, seed: "street-keys" })].map((r) => ({
      key: r.id,
      input: r.input,
    }));
    await land(1, people);
    await resolve(1);
    const count = async (tag: string) =>
      (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM person_keys WHERE left(key, 2) = $1", [tag]))
        .rows[0]!.n;
    const fresh = (await snapshot()).keys;
    // Both kinds are there to rebuild: records without a ZIP (n:) and with one (x:).
    expect(await count("n:")).toBeGreaterThan(5);
    expect(await count("x:")).toBeGreaterThan(500);
    expect(await count("7:")).toBe(0);
    expect(await count("d:")).toBe(0);
    // What a resolution wrote before 357: no n: and x:; p:, 7: and d: too; and no q: for one resolved before q: was.
    await pool.query("DELETE FROM person_keys WHERE left(key, 2) IN ('n:', 'x:')");
    const { rowCount: withoutQ } = await pool.query(
      "DELETE FROM person_keys WHERE left(key, 2) = 'q:' AND record_id IN (SELECT record_id FROM person_records WHERE record_id % 5 = 0)",
    );
    expect(withoutQ).toBeGreaterThan(50);
    await pool.query(
      `INSERT INTO person_keys (key, record_id)
       SELECT k, record_id FROM person_records,
              LATERAL (VALUES ('p:' || phone), ('7:x|' || record_id), ('d:y|' || record_id)) AS v(k)
        WHERE phone IS NOT NULL
       ON CONFLICT DO NOTHING`,
    );
    const file = readFileSync(
      new URL("../../sql/migrations/357_person_keys_street_by_zip.sql", import.meta.url),
      "utf8",
    );
    const [up, down] = file.split("-- Down Migration");
    await pool.query(up!);
    expect((await snapshot()).keys).toEqual(fresh);
    await pool.query(down!);
    expect(await count("n:")).toBe(0);
    expect(await count("x:")).toBe(0);
  });
});

describe("person_keys' reference to person_records (checked per statement, migration 033)", () => {
  it("refuses a key of a record that does not exist, and deleting records deletes their keys", async () => {
    await land(1, [
      { key: "k1", input: ann },
      { key: "k2", input: { first_name: "Bo", last_name: "Chen", email: "bo@example.com" } },
    ]);
    await resolve(1);
    const keysOf = async (id: number) =>
      (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM person_keys WHERE record_id = $1", [id]))
        .rows[0]!.n;
    expect(await keysOf(1)).toBeGreaterThan(3);
    // Bo has an e-mail and a name: his e-mail's two blocking keys (his value keys are on the record, migration 231).
    expect(await keysOf(2)).toBe(2);
    await expect(
      pool.query("INSERT INTO person_keys (key, record_id) VALUES ('e:x@example.com', 1), ('e:y@example.com', 999)"),
    ).rejects.toMatchObject({ code: "23503", message: "person_keys: no person record 999" });
    await expect(pool.query("UPDATE person_keys SET record_id = 998 WHERE record_id = 2")).rejects.toMatchObject({
      code: "23503",
    });
    await pool.query("DELETE FROM person_links");
    await pool.query("DELETE FROM person_records WHERE record_id = 2");
    expect(await keysOf(2)).toBe(0);
    expect(await keysOf(1)).toBeGreaterThan(3);
  });
});

describe("person_links' references to person_records (checked per statement, migration 310)", () => {
  it("refuses a link naming a record that does not exist, and deleting a record deletes its links from either side", async () => {
    await land(1, [
      { key: "k1", input: ann },
      { key: "k2", input: { ...ann, first_name: "Anne" } },
      { key: "k3", input: { first_name: "Bo", last_name: "Chen", email: "bo@example.com" } },
    ]);
    await resolve(1);
    const links = async () =>
      (
        await pool.query<{ record_id: string; matched_record_id: string }>(
          "SELECT record_id, matched_record_id FROM person_links ORDER BY 1, 2",
        )
      ).rows.map((l) => `${l.record_id}-${l.matched_record_id}`);
    expect(await links()).toEqual(["2-1"]);
    await expect(
      pool.query(
        "INSERT INTO person_links (record_id, matched_record_id, score, tier, reason) VALUES (3, 1, 1, 'manual', 'x'), (3, 999, 1, 'manual', 'x')",
      ),
    ).rejects.toMatchObject({ code: "23503", message: "person_links: no person record 999" });
    await expect(
      pool.query(
        "INSERT INTO person_links (record_id, matched_record_id, score, tier, reason) VALUES (998, 3, 1, 'manual', 'x')",
      ),
    ).rejects.toMatchObject({ code: "23503", message: "person_links: no person record 998" });
    await expect(
      pool.query("UPDATE person_links SET matched_record_id = 997 WHERE record_id = 2"),
    ).rejects.toMatchObject({
      code: "23503",
    });
    await pool.query(
      "INSERT INTO person_links (record_id, matched_record_id, score, tier, reason) VALUES (3, 2, 1, 'manual', 'x')",
    );
    expect(await links()).toEqual(["2-1", "3-2"]);
    // Record 2 is named on the left of one link and on the right of the other: both go, and nothing else.
    await pool.query("DELETE FROM person_records WHERE record_id = 2");
    expect(await links()).toEqual([]);
    await pool.query(
      "INSERT INTO person_links (record_id, matched_record_id, score, tier, reason) VALUES (3, 1, 1, 'manual', 'x')",
    );
    await pool.query("DELETE FROM person_records WHERE record_id = 3");
    expect(await links()).toEqual([]);
  });
});

describe("references to persons (checked per statement, migrations 345 and 346)", () => {
  it("refuses records and contact points of a golden record that does not exist, and keeps a named one", async () => {
    await land(1, [
      { key: "k1", input: ann },
      { key: "k2", input: { first_name: "Bo", last_name: "Chen", email: "bo@example.com", phone: "2065550199" } },
    ]);
    await resolve(1);
    const { rows } = await pool.query<{ record_id: string; person_id: string }>(
      "SELECT record_id, person_id FROM person_records ORDER BY record_id",
    );
    const [ann1, bo] = rows.map((r) => Number(r.person_id)) as [number, number];
    expect(ann1).not.toBe(bo);
    await expect(
      pool.query("UPDATE person_records SET person_id = CASE record_id WHEN 1 THEN 999 ELSE 998 END"),
    ).rejects.toMatchObject({ code: "23503", message: "person_records: no golden record 998" });
    await expect(
      pool.query(
        `INSERT INTO person_records (source_kind, source_key, import_id, source_row, src_seq, person_id)
         VALUES ('contacts', 'k9', $1, 9, 9, 997)`,
        [IMPORT(1)],
      ),
    ).rejects.toMatchObject({ code: "23503", message: "person_records: no golden record 997" });
    for (const [table, columns, values] of [
      ["person_phones", "person_id, phone, verified, record_id, last_seq", "'2065550100', false, 1, 1"],
      ["person_emails", "person_id, email, verified, record_id, last_seq", "'x@example.com', false, 1, 1"],
      ["person_addresses", "person_id, address_line1, zip5, record_id, last_seq", "'1 Main St', '98101', 1, 1"],
    ] as const) {
      await expect(
        pool.query(`INSERT INTO ${table} (${columns}) VALUES (${ann1}, ${values}), (996, ${values})`),
      ).rejects.toMatchObject({ code: "23503", message: `${table}: no golden record 996` });
    }
    // A golden record that records name cannot go, nor change its id.
    await expect(pool.query("DELETE FROM persons WHERE person_id = $1", [bo])).rejects.toMatchObject({
      code: "23503",
      message: `persons: golden record ${bo} still has person records`,
    });
    await expect(pool.query("UPDATE persons SET person_id = 995 WHERE person_id = $1", [bo])).rejects.toMatchObject({
      code: "23503",
    });
    const points = async (person: number) =>
      (
        await pool.query<{ n: number }>(
          `SELECT (SELECT count(*) FROM person_phones WHERE person_id = $1)
                + (SELECT count(*) FROM person_emails WHERE person_id = $1)
                + (SELECT count(*) FROM person_addresses WHERE person_id = $1) AS n`,
          [person],
        )
      ).rows[0]!.n;
    expect(Number(await points(bo))).toBe(2);
    // Its records moved away, it goes with its contact points, and nobody else's.
    const before = Number(await points(ann1));
    expect(before).toBeGreaterThan(0);
    await pool.query("UPDATE person_records SET person_id = $1 WHERE person_id = $2", [ann1, bo]);
    await pool.query("DELETE FROM persons WHERE person_id = $1", [bo]);
    expect(Number(await points(bo))).toBe(0);
    expect(Number(await points(ann1))).toBe(before);
  });
});
