import { describe, expect, it } from "vitest";
import type { Pool } from "@leadpipe/core";
import type { PoolClient } from "pg";
import { useDatabase } from "../support/database";

let pool: Pool;
useDatabase("leadpipe-contacts-promotion-", (db) => {
  pool = db.pool;
});

const IMPORT = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const seq = (n: number, row: number) => ((BigInt(n) << 32n) + BigInt(row)).toString();

interface Staged {
  row: number;
  key: string | null;
  first: string;
  email?: string | null;
  dob?: string | null;
  ids?: string[];
  raw?: Record<string, unknown>;
}

/**
 * Stages import n's chunk 0 as the contacts target does (staging_contacts, person_records' columns). Every
 * column holds a value of its own (made from the column and the first name), so a column the promotion read
 * under another's name would show.
 */
async function stage(db: PoolClient, n: number, rows: Staged[]): Promise<void> {
  for (const r of rows) {
    const own = (column: string) => `${column} ${r.first}`;
    await db.query(
      `INSERT INTO staging_contacts (import_id, chunk_index, source_row, src_seq, partner, source_kind, source_key, first_name,
                                     middle_name, last_name, name_suffix, email, phone, phone7, dob, address_line1, house_number,
                                     street_name, city, state, zip5, zip4, ids, raw)
       VALUES ($1, 0, $2, $3, '', 'legacy-contacts', $4, $5, $6, 'Lee', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
               $19, $20)`,
      [
        IMPORT(n),
        r.row,
        seq(n, r.row),
        r.key,
        r.first,
        own("middle"),
        own("suffix"),
        r.email ?? null,
        own("phone"),
        own("phone7"),
        r.dob ?? null,
        own("line1"),
        own("house"),
        own("street"),
        own("city"),
        own("state"),
        own("zip5"),
        own("zip4"),
        r.ids ?? [],
        r.raw ?? {},
      ],
    );
  }
}

/** The chunk's staged rows as the JSON records people_upsert_records takes (how promote_contacts once handed them over). */
const asJson = (db: PoolClient, n: number) =>
  db.query<{ inserted: number; updated: number }>(
    `SELECT * FROM people_upsert_records((
       SELECT jsonb_agg(to_jsonb(s) || jsonb_build_object('source_key', s.row_key) ORDER BY s.source_row)
         FROM staging_contacts s WHERE s.import_id = $1 AND s.chunk_index = 0))`,
    [IMPORT(n)],
  );
const fromStaging = (db: PoolClient, n: number) =>
  db.query<{ inserted: number; updated: number }>("SELECT * FROM promote_contacts($1, 0)", [IMPORT(n)]);

const records = async (db: PoolClient) =>
  (
    await db.query(
      `SELECT to_jsonb(r) - '{created_at,updated_at,resolved_at}'::text[] || jsonb_build_object('waiting', r.resolved_at IS NULL) AS r
         FROM person_records r ORDER BY record_id`,
    )
  ).rows.map((x) => x.r as Record<string, unknown>);

/** Three deliveries (a key twice in one chunk, a newer delivery changing one record, an older one, a replay) through `promote`. */
async function deliveries(promote: typeof asJson) {
  const db = await pool.connect();
  try {
    await db.query("BEGIN");
    await stage(db, 1, [
      {
        row: 2,
        key: "legacy_id=DB/1",
        first: "Ann",
        email: "ann@example.com",
        dob: "1980-01-31",
        raw: { extra: { a: 1 } },
      },
      { row: 3, key: "legacy_id=DB/2", first: "Bob", ids: ["link-1"] },
      { row: 4, key: "legacy_id=DB/1", first: "Anne", email: "anne@example.com" },
      { row: 5, key: null, first: "Cy" },
    ]);
    await stage(db, 2, [
      { row: 2, key: "legacy_id=DB/2", first: "Bob", ids: ["link-1"] },
      { row: 3, key: "legacy_id=DB/1", first: "Annie", email: "anne@example.com" },
    ]);
    const counts = [];
    for (const n of [1, 2, 1, 2]) counts.push((await promote(db, n)).rows[0]);
    // An older delivery (import 1 again, after 2) changes nothing; import 2 again is a replay.
    const out = { counts, records: await records(db) };
    await db.query("ROLLBACK");
    return out;
  } finally {
    db.release();
  }
}

describe("promote_contacts", () => {
  it("upserts a chunk straight from staging by the same rule as JSON records: the later row of a key wins, a newer delivery updates only what changed, an older one or a replay nothing", async () => {
    const staged = await deliveries(fromStaging);
    const json = await deliveries(asJson);
    expect(staged.counts).toEqual([
      { inserted: 3, updated: 0 },
      { inserted: 0, updated: 1 },
      { inserted: 0, updated: 0 },
      { inserted: 0, updated: 0 },
    ]);
    const byKey = Object.fromEntries(staged.records.map((r) => [r.source_key, r]));
    expect(byKey["legacy_id=DB/1"]).toMatchObject({
      first_name: "Annie",
      email: "anne@example.com",
      import_id: IMPORT(2),
      middle_name: "middle Annie",
      name_suffix: "suffix Annie",
      phone: "phone Annie",
      phone7: "phone7 Annie",
      address_line1: "line1 Annie",
      house_number: "house Annie",
      street_name: "street Annie",
      city: "city Annie",
      state: "state Annie",
      zip5: "zip5 Annie",
      zip4: "zip4 Annie",
    });
    expect(byKey["legacy_id=DB/2"]).toMatchObject({ first_name: "Bob", ids: ["link-1"], import_id: IMPORT(1) });
    expect(byKey[`row:${seq(1, 5)}`]).toMatchObject({ first_name: "Cy", source_row: 5 });
    // Identical to the JSON route, column for column (the record ids come from one sequence: shifted).
    const shift = Number(json.records[0]!.record_id) - Number(staged.records[0]!.record_id);
    expect(json.records.map((r) => ({ ...r, record_id: Number(r.record_id) - shift }))).toEqual(staged.records);
  });

  it("takes its rows from one of its two named places only: any other text is refused, never run", async () => {
    const attempt = pool.query("SELECT * FROM people_upsert_rows($1)", ["SELECT * FROM person_records"]);
    await expect(attempt).rejects.toMatchObject({ code: "22023" });
    await expect(attempt).rejects.toThrow(/no such source of records: SELECT \* FROM person_records/);
  });
});
