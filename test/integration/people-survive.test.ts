import { describe, expect, it } from "vitest";
import type { Pool } from "@leadpipe/core";
import type { PoolClient } from "../../packages/core/src/db";
import * as Store from "../../packages/core/src/people/store";
import {
  GOLDEN_FIELDS,
  type GoldenField,
  noValues,
  type Override,
  survive,
  type Survivorship,
} from "../../packages/core/src/people/survive";
import { useDatabase } from "../support/database";

/**
 * Survivorship in this process (survive.ts, what resolveImport writes) against people_survive (what merges, unmerges,
 * splits and overrides run): the same records and overrides, every golden field, contact point and audit row equal.
 */
let pool: Pool;
useDatabase("leadpipe-people-survive-", (db) => {
  pool = db.pool;
});

const IMPORT = "00000000-0000-4000-8000-000000000009";

/** A deterministic generator (mulberry32): the same cases on every run. */
function random(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
  return { next, pick };
}

/** Few values per column, so that ties of import, completeness and verification are common. */
const VALUES: Record<GoldenField, readonly (string | null)[]> = {
  first_name: [null, "ANN", "BOB"],
  middle_name: [null, "Q"],
  last_name: [null, "LEE", "ROE"],
  name_suffix: [null, "JR"],
  email: [null, "ann@example.com", "bob@example.com"],
  phone: [null, "+15550001111", "+15550002222"],
  dob: [null, "1980-01-02", "1975-05-05"],
  address_line1: [null, "1 MAIN ST", "2 OAK AVE"],
  city: [null, "SPRINGFIELD", "DECATUR"],
  state: [null, "IL"],
  zip5: [null, "62701", "62702"],
  zip4: [null, "1234"],
};

/** Records for persons `ids` (0-5 each, some persons none), landed with person_id NULL; returns each record's person. */
async function landRecords(client: PoolClient, ids: number[], seed: number): Promise<Map<number, number>> {
  const r = random(seed);
  const rows: unknown[] = [];
  for (const person of ids) {
    const n = Math.floor(r.next() * 6);
    for (let k = 0; k < n; k++) {
      const record: Record<string, unknown> = {
        source_kind: "contacts",
        source_key: `${person}-${k}`,
        import_id: IMPORT,
        source_row: k + 2,
        // Imports 1-3, and within one, rows that can repeat: equal src_seq happens too.
        src_seq: ((BigInt(1 + Math.floor(r.next() * 3)) << 32n) + BigInt(2 + Math.floor(r.next() * 3))).toString(),
        phone_verified: r.next() < 0.3,
        email_verified: r.next() < 0.3,
        raw: r.pick([{}, { phone: "(555) 000-1111", email: "Ann@Example.com" }, { phone: 5550002222 }]),
        ids: [],
      };
      for (const f of GOLDEN_FIELDS) record[f] = r.pick(VALUES[f]);
      rows.push(record);
    }
  }
  await client.query("SELECT people_upsert_records($1::jsonb)", [JSON.stringify(rows)]);
  const { rows: landed } = await client.query<{ record_id: number; source_key: string }>(
    "SELECT record_id, source_key FROM person_records WHERE import_id = $1",
    [IMPORT],
  );
  return new Map(landed.map((l) => [l.record_id, Number(l.source_key.split("-")[0])]));
}

/** Stale golden values, contact points and overrides for existing persons: some equal to what survives, most not. */
async function staleState(client: PoolClient, ids: number[], seed: number): Promise<void> {
  const r = random(seed);
  for (const person of ids) {
    // Some empty: those without records stay as they are (no 'survive' row).
    const empty = r.next() < 0.2;
    const values = GOLDEN_FIELDS.map((f) => (empty ? null : r.pick(VALUES[f])));
    await client.query(
      `INSERT INTO persons (person_id, ${GOLDEN_FIELDS.join(", ")}) VALUES ($1, ${GOLDEN_FIELDS.map((_f, i) => `$${i + 2}`).join(", ")})`,
      [person, ...values],
    );
    if (r.next() < 0.5) {
      await client.query(
        "INSERT INTO person_phones (person_id, phone, verified, record_id, raw, last_seq) VALUES ($1, $2, $3, 1, NULL, 1)",
        [person, r.pick(VALUES.phone.slice(1)), r.next() < 0.5],
      );
    }
    if (r.next() < 0.5) {
      await client.query(
        "INSERT INTO person_emails (person_id, email, verified, record_id, raw, last_seq) VALUES ($1, $2, false, 1, 'x', 1)",
        [person, r.pick(VALUES.email.slice(1))],
      );
    }
    if (r.next() < 0.5) {
      await client.query(
        "INSERT INTO person_addresses (person_id, address_line1, city, zip5, record_id, last_seq) VALUES ($1, $2, 'X', $3, 1, 1)",
        [person, r.pick(VALUES.address_line1.slice(1)), r.pick(["", "62701"])],
      );
    }
    for (const field of GOLDEN_FIELDS) {
      if (r.next() < 0.04) {
        await client.query(
          "INSERT INTO person_overrides (person_id, field, value, set_by) VALUES ($1, $2, $3, 'steward')",
          [person, field, r.pick(VALUES[field])],
        );
      }
    }
  }
}

/** Every table survivorship writes, in full (timestamps and audit ids aside; the audit in the order written). */
async function written(client: PoolClient) {
  const q = async (sql: string) => (await client.query(sql)).rows;
  return {
    persons: await q(`SELECT person_id, ${GOLDEN_FIELDS.join(", ")} FROM persons ORDER BY 1`),
    phones: await q("SELECT * FROM person_phones ORDER BY person_id, phone"),
    emails: await q("SELECT * FROM person_emails ORDER BY person_id, email"),
    addresses: await q("SELECT * FROM person_addresses ORDER BY person_id, address_line1, zip5"),
    audit: await q("SELECT person_id, action, import_id, detail FROM merge_audit ORDER BY audit_id"),
  };
}

/** `act` inside a transaction that is rolled back, and what it wrote. */
async function tried(act: (client: PoolClient) => Promise<void>) {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await act(client);
    return await written(client);
  } finally {
    await client.query("ROLLBACK");
    client.release();
  }
}

async function reset(): Promise<void> {
  await pool.query(
    "TRUNCATE persons, person_records, person_phones, person_emails, person_addresses, person_overrides, merge_audit RESTART IDENTITY CASCADE",
  );
}

const PERSONS = Array.from({ length: 400 }, (_v, i) => 1000 + i);

/** The records and overrides of the persons, as resolveImport reads a batch's records. */
async function inputsOf(client: PoolClient) {
  const records = await Store.pendingRecords(client, IMPORT, 0, 10_000);
  const { rows: overrides } = await client.query<Override>("SELECT person_id, field, value FROM person_overrides");
  return { records, overrides };
}

/** survive()'s contact points as the tables hold them, in `written`'s order. */
function contactRows(made: Survivorship) {
  const point = (p: Survivorship["phones"][number], name: "phone" | "email") => ({
    person_id: p.person_id,
    [name]: p.value,
    verified: p.verified,
    record_id: p.record_id,
    raw: p.raw,
    last_seq: Number(p.last_seq),
  });
  const by =
    (...keys: string[]) =>
    (a: Record<string, unknown>, b: Record<string, unknown>) => {
      for (const k of keys) if (a[k] !== b[k]) return (a[k] as string | number) < (b[k] as string | number) ? -1 : 1;
      return 0;
    };
  return {
    phones: made.phones.map((p) => point(p, "phone")).sort(by("person_id", "phone")),
    emails: made.emails.map((e) => point(e, "email")).sort(by("person_id", "email")),
    addresses: made.addresses
      .map((a) => ({ ...a, last_seq: Number(a.last_seq) }))
      .sort(by("person_id", "address_line1", "zip5")),
  };
}

describe("survivorship in this process", () => {
  it.each([1, 2, 3])("gives what people_survive gives for golden records that existed (seed %i)", async (seed) => {
    await reset();
    const client = await pool.connect();
    let before: Awaited<ReturnType<typeof written>>;
    let inputs: Awaited<ReturnType<typeof inputsOf>>;
    try {
      await staleState(client, PERSONS, seed * 7);
      const owner = await landRecords(client, PERSONS, seed);
      for (const [record, person] of owner) {
        await client.query("UPDATE person_records SET person_id = $2 WHERE record_id = $1", [record, person]);
      }
      before = await written(client);
      inputs = await inputsOf(client);
    } finally {
      client.release();
    }
    const inSql = await tried(async (c) => {
      await c.query("SELECT people_survive($1::bigint[], $2)", [PERSONS, IMPORT]);
    });

    // What people_survive wrote is what survive() says, and a golden record that changed has its detail audited.
    const made = survive(PERSONS, inputs.records, inputs.overrides);
    const persons = made.golden.map((g) => ({ person_id: g.person_id, ...g.values }));
    expect(inSql).toEqual({
      persons,
      ...contactRows(made),
      audit: made.golden
        .filter((_g, i) => JSON.stringify(persons[i]) !== JSON.stringify(before.persons[i]))
        .map((g) => ({ person_id: g.person_id, action: "survive", import_id: IMPORT, detail: JSON.parse(g.detail) })),
    });
    // The cases the rules tell apart all occur, and some golden records did not change (no audit row).
    const rules = new Set(
      inSql.audit.flatMap((a) => Object.values(a.detail as Record<string, { rule: string }>).map((d) => d.rule)),
    );
    expect([...rules].sort()).toEqual(
      [
        "earliest record",
        "manual override",
        "most complete record",
        "most recent source",
        "only source",
        "verified contact point",
      ].sort(),
    );
    expect(inSql.audit.length).toBeGreaterThan(300);
    expect(inSql.audit.length).toBeLessThan(PERSONS.length);
  });

  it.each([4, 5])("gives what people_survive gives for golden records this batch creates (seed %i)", async (seed) => {
    await reset();
    const client = await pool.connect();
    let owner: Map<number, number>;
    try {
      owner = await landRecords(client, PERSONS, seed);
    } finally {
      client.release();
    }
    const assign = async (c: PoolClient) => {
      for (const [record, person] of owner) {
        await c.query("UPDATE person_records SET person_id = $2 WHERE record_id = $1", [record, person]);
      }
    };

    const inProcess = await tried(async (c) => {
      const pending = await Store.pendingRecords(c, IMPORT, 0, 10_000);
      const made = survive(PERSONS, pending, [], (p) => owner.get(p.record_id));
      await Store.createPersons(c, made);
      await assign(c);
      await Store.auditCreated(c, IMPORT, made);
    });
    const inSql = await tried(async (c) => {
      await c.query("INSERT INTO persons (person_id) SELECT unnest($1::bigint[])", [PERSONS]);
      await assign(c);
      await c.query("SELECT people_survive($1::bigint[], $2)", [PERSONS, IMPORT]);
    });

    expect(inProcess).toEqual(inSql);
    expect(inSql.phones.length).toBeGreaterThan(100);
  });
});

describe("survive", () => {
  it("spells out each rule", () => {
    const seq = (imp: number, row: number) => ({
      src_seq: ((BigInt(imp) << 32n) + BigInt(row)).toString(),
      seq_hi: imp,
      seq_lo: row,
    });
    const base = {
      record_id: 0,
      person_id: 1,
      ...seq(1, 2),
      ...noValues(),
      phone_verified: false,
      email_verified: false,
      raw_phone: null,
      raw_email: null,
    };
    const { golden, phones } = survive(
      [1, 2],
      [
        // Name: import 2 beats import 1 whatever its completeness.
        {
          ...base,
          record_id: 10,
          ...seq(1, 2),
          first_name: "ANN",
          last_name: "LEE",
          email: "a@x.com",
          dob: "1980-01-02",
        },
        { ...base, record_id: 11, ...seq(2, 2), first_name: "ANNE", phone: "+15550001111" },
        {
          ...base,
          record_id: 12,
          ...seq(2, 3),
          phone: "+15550001111",
          phone_verified: true,
          raw_phone: "555 000 1111",
        },
        // Person 2: one import, two records alike but for the verified phone; then the lower record id.
        { ...base, person_id: 2, record_id: 20, phone: "+15550002222" },
        { ...base, person_id: 2, record_id: 21, phone: "+15550003333", phone_verified: true },
        { ...base, person_id: 2, record_id: 22, last_name: "ROE" },
        { ...base, person_id: 2, record_id: 23, last_name: "RAE" },
      ],
      [{ person_id: 2, field: "zip5", value: null }],
    );
    expect(
      golden.map((g) => [g.person_id, g.values.first_name, g.values.last_name, g.values.phone, g.values.email]),
    ).toEqual([
      [1, "ANNE", null, "+15550001111", "a@x.com"],
      [2, null, "ROE", "+15550003333", null],
    ]);
    expect(JSON.parse(golden[0]!.detail)).toEqual({
      first_name: { value: "ANNE", record_id: 11, rule: "most recent source" },
      email: { value: "a@x.com", record_id: 10, rule: "only source" },
      phone: { value: "+15550001111", record_id: 11, rule: "most complete record" },
      dob: { value: "1980-01-02", record_id: 10, rule: "only source" },
    });
    expect(JSON.parse(golden[1]!.detail)).toEqual({
      last_name: { value: "ROE", record_id: 22, rule: "earliest record" },
      phone: { value: "+15550003333", record_id: 21, rule: "verified contact point" },
      zip5: { value: null, record_id: null, rule: "manual override" },
    });
    // One phone of person 1, from its latest record, verified because one of its records is.
    expect(phones.filter((p) => p.person_id === 1)).toEqual([
      {
        person_id: 1,
        value: "+15550001111",
        verified: true,
        record_id: 12,
        raw: "555 000 1111",
        last_seq: seq(2, 3).src_seq,
      },
    ]);
  });
});
