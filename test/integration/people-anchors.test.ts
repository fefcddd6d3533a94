import { beforeEach, describe, expect, it } from "vitest";
import { People, type Pool } from "@leadpipe/core";
import { useDatabase, wipePeople } from "../support/database";

// The anchored totals ("#az" … "#ae!", frequencies.ts ANCHORS) the database keeps are those `leadpipe match` counts over
// the current records, whatever the imports' order, interleaving, re-deliveries or lost counts.

let pool: Pool;

const IMPORT = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
type Contact = { key: string; input: People.ContactInput };
/** Each source key's latest delivery: the current records. */
let current: Map<string, People.ContactInput>;
let delivery = 0;

async function land(n: number, contacts: readonly Contact[]) {
  const rows = contacts.map((c) => {
    delivery++;
    current.set(c.key, c.input);
    return People.recordRow(People.standardizeContact(c.input, new Date("2026-01-01")), {
      source_kind: "contacts",
      source_key: c.key,
      import_id: IMPORT(n),
      source_row: delivery,
      src_seq: String(delivery),
    });
  });
  return People.upsertRecords(pool, rows);
}
const resolve = (n: number, batchSize = 40) => People.resolveImport({ pool }, IMPORT(n), undefined, { batchSize });
/** Resolves import n's first batch and stops there (a worker that ends between two batches). */
const resolveOneBatch = (n: number) =>
  People.resolveImport({ pool }, IMPORT(n), undefined, {
    batchSize: 40,
    afterBatch: () => {
      throw new Error("stopped after a batch");
    },
  });

const profile = (input: People.ContactInput) =>
  People.profileOf(People.standardizeContact(input, new Date("2026-01-01")));
const sampler = new People.Frequencies();
const isAnchor = (key: string) => /^#a[zpe]!?$/.test(key);

/** The stored anchored totals. */
async function stored() {
  const { rows } = await pool.query<{ key: string; n: string }>("SELECT key, n FROM person_value_counts");
  return Object.fromEntries(rows.filter((r) => isAnchor(r.key) && Number(r.n) !== 0).map((r) => [r.key, Number(r.n)]));
}
/** The anchored totals of the current records as `leadpipe match` counts them (in memory, in this order). */
function inMemory(inputs: Iterable<People.ContactInput> = current.values()) {
  const f = new People.Frequencies();
  for (const input of inputs) f.count(profile(input));
  return Object.fromEntries([...f.entries()].filter(([k]) => isAnchor(k)));
}
/** Golden records as their source keys, each "a b c", sorted. */
async function partition() {
  const { rows } = await pool.query<{ keys: string }>(
    "SELECT string_agg(source_key, ' ' ORDER BY source_key) AS keys FROM person_records GROUP BY person_id",
  );
  return rows.map((r) => r.keys).sort();
}

const ZIPS = ["02116", "60601", "10001"];
/**
 * People whose e-mail and phone are in the anchors' sample, three records each: one e-mail and given name (the home's
 * and the phone's anchor), one phone, names and date of birth (the e-mail's); some moved, changed number or mailbox.
 */
function anchoredPeople(n: number, tag: string): Contact[] {
  const out: Contact[] = [];
  for (let i = 0; out.length < n * 3; i++) {
    const email = `ann.${tag}${i}@example.com`;
    const phone = `617${String(5550000 + i).padStart(7, "0")}`;
    const base = {
      first_name: "Ann",
      last_name: `Lee${tag}${i}`,
      dob: `19${50 + (i % 40)}-03-04`,
      email,
      phone,
      street: `${i + 1} Elm St`,
      city: "Boston",
      state: "MA",
      zip: "02116",
    };
    const a = sampler.anchoring(profile(base));
    if (a.email === null || a.phone === null) continue;
    out.push(
      { key: `${tag}${i}-a`, input: base },
      { key: `${tag}${i}-b`, input: { ...base, zip: ZIPS[i % 3]!, phone: i % 2 ? `312${phone.slice(3)}` : phone } },
      { key: `${tag}${i}-c`, input: { ...base, email: i % 4 === 0 ? `annie.${tag}${i}@mail.com` : email } },
    );
  }
  return out;
}

/** 60 records of Ann on one sampled mailbox, in ZIPs that differ: a shared mailbox, not one person. */
function sharedMailbox(): Contact[] {
  let mailbox = 0;
  while (sampler.anchoring(profile({ first_name: "Ann", email: `office${mailbox}@example.com` })).email === null)
    mailbox++;
  return Array.from({ length: 60 }, (_, i) => ({
    key: `shared${i}`,
    input: {
      first_name: "Ann",
      last_name: `Doe${i}`,
      email: `office${mailbox}@example.com`,
      zip: i < 30 ? "02116" : ZIPS[i % 3]!,
    },
  }));
}

useDatabase("leadpipe-anchors-", (db) => {
  pool = db.pool;
});
async function wipe() {
  await wipePeople(pool);
  current = new Map();
  delivery = 0;
}
beforeEach(wipe);

describe("anchored pairs in the database", () => {
  const a = anchoredPeople(30, "a"),
    b = anchoredPeople(30, "b");

  it("a newer delivery of a record takes its old pairs away and counts its new ones", async () => {
    await land(1, [...a, ...b]);
    await resolve(1);
    const before = await stored();
    expect(before).toEqual(inMemory());
    expect(before["#az"]).toBeGreaterThan(50);
    // Every "b" record moves to one ZIP and one number: the pairs that differed in them no longer do.
    await land(
      2,
      b.map((c) => ({ key: c.key, input: { ...c.input, zip: "94105", phone: "4155550100" } })),
    );
    await resolve(2);
    const after = await stored();
    expect(after).not.toEqual(before);
    expect(after).toEqual(inMemory());
  });

  it("interleaved imports count the pairs between them, and give the golden records of one after the other", async () => {
    const mixed = a.map((c, i) => (i % 3 === 1 ? { key: `x${c.key}`, input: c.input } : c));
    await land(1, a);
    await land(
      2,
      mixed.filter((c) => c.key.startsWith("x")),
    );
    await resolve(1);
    await resolve(2);
    const sequential = { totals: await stored(), golden: await partition() };
    expect(sequential.totals).toEqual(inMemory());

    await wipe();
    await land(1, a);
    await expect(resolveOneBatch(1)).rejects.toThrow("stopped after a batch");
    await land(
      2,
      mixed.filter((c) => c.key.startsWith("x")),
    );
    await resolve(2);
    await resolve(1);
    expect(await stored()).toEqual(sequential.totals);
    expect(await partition()).toEqual(sequential.golden);
  });

  it("a record delivered again before its first resolution is counted once, with its newer values", async () => {
    await land(1, a);
    await expect(resolveOneBatch(1)).rejects.toThrow("stopped after a batch");
    // The last records of import 1 are still pending: a newer delivery moves them to import 2.
    const again = a.slice(-9).map((c) => ({ key: c.key, input: { ...c.input, zip: "94105" } }));
    await land(2, again);
    await resolve(2);
    await resolve(1);
    expect(await stored()).toEqual(inMemory());
  });

  it("seeds the anchored pairs of a population resolved before they were kept, and again after their counts are lost", async () => {
    // With a mailbox past the limit: the seed reads the members 40 at a time, so groups span its pages.
    await land(1, [...a, ...sharedMailbox()]);
    await resolve(1);
    const resolved = await stored();
    expect(resolved).toEqual(inMemory());
    // A population resolved before migration 336: no members, no totals.
    await pool.query("TRUNCATE person_anchor_members");
    await pool.query("DELETE FROM person_value_counts WHERE key LIKE '#a%' OR key = '#!anchors'");
    await land(2, b);
    await resolve(2);
    expect(await stored()).toEqual(inMemory());
    const both = await stored();
    await pool.query("TRUNCATE person_value_counts");
    await land(3, [{ key: "one-more", input: { first_name: "Zed", last_name: "Quinn", zip: "02116" } }]);
    await resolve(3);
    expect(await stored()).toEqual(both);
  });

  it("a group past 50 members anchors nothing, whatever the order of its records", async () => {
    const shared = sharedMailbox();
    const totals: unknown[] = [];
    const golden: unknown[] = [];
    for (const order of [shared, [...shared].reverse()]) {
      await wipe();
      await land(1, [...a, ...order.slice(0, 45)]);
      await resolve(1);
      await land(2, order.slice(45));
      await resolve(2);
      totals.push(await stored());
      golden.push(await partition());
      expect(totals.at(-1)).toEqual(inMemory());
      expect(inMemory([...current.values()].reverse())).toEqual(totals.at(-1));
    }
    expect(totals[1]).toEqual(totals[0]);
    expect(golden[1]).toEqual(golden[0]);
    // The shared mailbox adds nothing: the totals are the other people's alone.
    expect(totals[0]).toEqual(inMemory(a.map((c) => c.input)));
  });
});
