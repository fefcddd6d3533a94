import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool, type Pool } from "@leadpipe/core";
import { CopyBatches, copyLine, copyPrepared, type CopyValue } from "../../packages/core/src/copy";
import { BinaryRows, binaryRowsFor, CopyEncodeError, type BinaryType } from "../../packages/core/src/copy-binary";
import { parseChunk } from "../../packages/core/src/imports/process-chunk";
import { LINE_COLUMN } from "../../packages/core/src/imports/stage";
import { partnerBMortgages } from "../../packages/core/src/sources/partner-b-mortgages";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";

let pg: RunningPostgres;
let pool: Pool;
let tmp: string;

const COLUMNS = ["t", "v", "s", "i", "b", "money", "rate", "n", "d", "f", "u"];
const TYPES: BinaryType[] = [
  "text",
  "text",
  "int2",
  "int4",
  "int8",
  "numeric",
  "numeric",
  "numeric",
  "date",
  "bool",
  "uuid",
];
const TABLE = `(t text, v varchar(40), s smallint, i integer, b bigint, money numeric(14,2), rate numeric(6,3), n numeric, d date, f boolean, u uuid)`;

/** Loads the same rows as text and as binary COPY and returns each table's rows as PostgreSQL prints them. */
async function both(rows: Record<string, CopyValue>[]): Promise<{ text: string[][]; binary: string[][] }> {
  const client = await pool.connect();
  try {
    await client.query(
      `DROP TABLE IF EXISTS as_text, as_binary; CREATE TABLE as_text ${TABLE}; CREATE TABLE as_binary ${TABLE}`,
    );
    const text = new CopyBatches();
    const binary = new CopyBatches(true);
    const encoder = new BinaryRows(TYPES, 0, COLUMNS);
    for (const row of rows) {
      text.add(copyLine(COLUMNS.map((c) => row[c])));
      encoder.write(binary, [], row);
    }
    await copyPrepared(client, "as_text", COLUMNS, text.done());
    await copyPrepared(client, "as_binary", COLUMNS, binary.done(), true);
    const read = async (table: string) =>
      (
        await client.query<{ r: string[] }>(
          `SELECT ARRAY[${COLUMNS.map((c) => `${c}::text`).join(", ")}] AS r FROM ${table} ORDER BY i`,
        )
      ).rows.map((x) => x.r);
    return { text: await read("as_text"), binary: await read("as_binary") };
  } finally {
    client.release();
  }
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-copy-"));
  pg = await startPostgres(path.join(tmp, "pg"));
  pool = createPool(pg.url, 2);
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await pg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("binary COPY of staged rows", () => {
  it("lands every value exactly as the text format does, edge cases included", async () => {
    const rows: Record<string, CopyValue>[] = [
      {
        t: "plain",
        v: "ascii",
        s: 0,
        i: 1,
        b: "21474836482",
        money: "425000.00",
        rate: "6.125",
        n: "0",
        d: "2026-11-20",
        f: true,
        u: "00000000-0000-4000-8000-000000000001",
      },
      {
        t: "José Ñúñez 😀",
        v: "Zoë",
        s: -32768,
        i: 2,
        b: -1,
        money: "-0.00",
        rate: "0.5",
        n: "-1234.5678",
        d: "2000-01-01",
        f: false,
        u: "FFFFFFFF-FFFF-4FFF-8FFF-FFFFFFFFFFFF",
      },
      {
        t: "tab\there, newline\nand \\ backslash, \\N",
        v: "",
        s: 32767,
        i: 3,
        b: "9223372036854775807",
        money: "1.005",
        rate: "24.9999",
        n: ".5",
        d: "1970-01-01",
        f: "t",
        u: null,
      },
      {
        t: null,
        v: null,
        s: null,
        i: 4,
        b: "-9223372036854775808",
        money: "007.50",
        rate: "6",
        n: "100000000",
        d: "1899-12-31",
        f: "false",
        u: "00000000-0000-4000-8000-000000000001",
      },
      {
        t: "",
        v: "x",
        s: "12",
        i: 5,
        b: 9007199254740991,
        money: "99999999999.99",
        rate: null,
        n: "0.000100",
        d: "2024-02-29",
        f: null,
        u: "12345678-9abc-4def-8123-456789abcdef",
      },
      {
        t: "x".repeat(5000),
        v: "long",
        s: 1,
        i: 6,
        b: "9007199254740993",
        money: 12.5,
        rate: "1.",
        n: "-0",
        d: "0001-01-01",
        f: "f",
        u: null,
      },
      {
        t: "lone \ud800 surrogate, then \udc00 and é",
        v: "\u00ff\u0100\u07ff\u0800\uffff",
        s: 2,
        i: 8,
        b: 0,
        money: "0",
        rate: "0",
        n: "0",
        d: "2026-01-31",
        f: null,
        u: null,
      },
      {
        t: 42,
        v: true,
        s: "-7",
        i: "2147483647",
        b: "+15",
        money: "10000",
        rate: "0.0001",
        n: "12345678901234567890.123456789",
        d: "2200-12-31",
        f: true,
        u: null,
      },
    ];
    const { text, binary } = await both(rows);
    expect(binary).toEqual(text);
    expect(binary).toHaveLength(rows.length);
    // Spot checks against what PostgreSQL prints, so that "equal" cannot mean "both empty".
    expect(binary[0]).toEqual([
      "plain",
      "ascii",
      "0",
      "1",
      "21474836482",
      "425000.00",
      "6.125",
      "0",
      "2026-11-20",
      "true",
      "00000000-0000-4000-8000-000000000001",
    ]);
    expect(binary[1]!.slice(0, 2)).toEqual(["José Ñúñez 😀", "Zoë"]);
    expect(binary[2]!.slice(4, 7)).toEqual(["9223372036854775807", "1.01", "25.000"]);
    expect(binary[3]!.slice(5, 9)).toEqual(["7.50", "6.000", "100000000", "1899-12-31"]);
  });

  it("lands the same rows when they run across the 1 MB buffers (a tuple may be cut anywhere)", async () => {
    const rows: Record<string, CopyValue>[] = Array.from({ length: 30_000 }, (_x, k) => ({
      t: `row ${k} ${"abcdefghij".repeat(k % 13)}${k % 7 === 0 ? " ünïcödé" : ""}`,
      v: k % 5 === 0 ? null : `v${k}`,
      s: k % 100,
      i: k + 100,
      b: String(k * 4294967296 + k),
      money: `${k}.${String(k % 100).padStart(2, "0")}`,
      rate: `${k % 25}.${k % 1000}`,
      n: `-${k}.5`,
      d: `20${String(k % 100).padStart(2, "0")}-0${1 + (k % 9)}-1${k % 10}`,
      f: k % 2 === 0,
      u: k % 3 === 0 ? null : "00000000-0000-4000-8000-000000000001",
    }));
    const { text, binary } = await both(rows);
    expect(binary).toHaveLength(30_000);
    expect(binary).toEqual(text);
  });

  it('writes the same bytes whatever the column names ("first name", "born-on")', () => {
    const bytes = (columns: string[], record: Record<string, CopyValue>) => {
      const w = new CopyBatches(true);
      const rows = new BinaryRows(["uuid", "text", "date", "numeric"], 1, columns);
      rows.write(w, ["00000000-0000-4000-8000-000000000001"], record);
      rows.write(
        w,
        ["00000000-0000-4000-8000-000000000002"],
        Object.fromEntries(Object.entries(record).map(([k]) => [k, null])),
      );
      return Buffer.concat(w.done());
    };
    const plain = bytes(["name", "born", "amount"], { name: "Zoë", born: "1970-01-01", amount: "12.50" });
    const spaced = bytes(["first name", "born-on", "amount"], {
      "first name": "Zoë",
      "born-on": "1970-01-01",
      amount: "12.50",
    });
    expect(spaced.equals(plain)).toBe(true);
    expect(plain.length).toBeGreaterThan(19 + 2 * (2 + 4 * 4));
    expect(() => new BinaryRows(["text"], 2, [])).toThrow(/2 values for 1 columns/);
  });

  it("refuses a value it cannot encode exactly, so that the chunk goes as text and PostgreSQL decides", () => {
    const one = (type: BinaryType, v: CopyValue) => () =>
      new BinaryRows([type], 1, []).write(new CopyBatches(true), [v], {});
    for (const [type, v] of [
      ["date", "2026-02-30"],
      ["date", "2023-02-29"],
      ["date", "20261114"],
      ["date", "2026-1-05"],
      ["date", 20261114],
      ["numeric", "1e5"],
      ["numeric", "NaN"],
      ["numeric", "."],
      ["numeric", "12,5"],
      ["numeric", Infinity],
      ["numeric", true],
      ["int4", "12.5"],
      ["int4", "2147483648"],
      ["int4", ""],
      ["int2", 40000],
      ["int8", "9223372036854775808"],
      ["int8", 1.5],
      ["bool", "yes"],
      ["bool", 1],
      ["uuid", "not-a-uuid"],
    ] as [BinaryType, CopyValue][]) {
      expect(one(type, v), `${type} ${String(v)}`).toThrow(CopyEncodeError);
    }
  });

  it("stages a chunk as text when a value does not encode, and the two formats hold the same rows", () => {
    const headers = Object.keys(partnerBMortgages.columns);
    const line = (n: number, cells: Record<string, string>) =>
      [String(n), ...headers.map((h) => cells[h] ?? "")].join(",");
    const body =
      [
        [LINE_COLUMN, ...headers].join(","),
        line(2, {
          "Loan Number": "B-1",
          "Borrower First": "Ann",
          "Borrower Last": "Lee",
          "Property Address": "1 Main St",
          "Property City": "Austin",
          "Property State": "TX",
          "Property Zip": "78701",
          "Loan Amount": "$1000.00",
          "Interest Rate": "6.125",
          "Closing Date": "11/20/2026",
        }),
        line(3, {
          "Loan Number": "B-2",
          "Borrower First": "Bo",
          "Borrower Last": "Kim",
          "Property Address": "2 Oak Ave",
          "Property City": "Dallas",
          "Property State": "TX",
          "Property Zip": "75201-1234",
          "Loan Amount": "$250000",
          "Closing Date": "11/21/2026",
          "First Payment Date": "01/01/2027",
        }),
      ].join("\n") + "\n";
    const lineage = (line: number): CopyValue[] => ["00000000-0000-4000-8000-000000000001", 0, line, String(line), "B"];
    const types = (closing: BinaryType): BinaryType[] => [
      "uuid",
      "int4",
      "int8",
      "int8",
      "text",
      ...partnerBMortgages.target.columns.map(
        (c): BinaryType =>
          c === "closing_date"
            ? closing
            : c === "first_payment_date"
              ? "date"
              : c === "loan_amount" || c === "interest_rate"
                ? "numeric"
                : c === "imb_repaired"
                  ? "bool"
                  : "text",
      ),
    ];
    const binary = parseChunk(
      partnerBMortgages,
      body,
      2,
      lineage,
      new BinaryRows(types("date"), 5, partnerBMortgages.target.columns),
    );
    expect(binary.staged.binary).toBe(true);
    expect(binary.staged.rows).toBe(2);
    // A closing date declared as an integer cannot take "2026-11-20": the whole chunk is staged as text.
    const fallback = parseChunk(
      partnerBMortgages,
      body,
      2,
      lineage,
      new BinaryRows(types("int4"), 5, partnerBMortgages.target.columns),
    );
    expect(fallback.staged.binary).toBe(false);
    expect(fallback.staged.done().join("")).toBe(
      parseChunk(partnerBMortgages, body, 2, lineage).staged.done().join(""),
    );
    expect(fallback.rejects).toEqual([]);
  });

  it("chooses binary only for tables whose every column type it encodes", async () => {
    await pool.query(
      "CREATE TABLE IF NOT EXISTS all_known (a text, b date, c numeric(6,2)); CREATE TABLE IF NOT EXISTS has_time (a text, at timestamptz)",
    );
    expect((await binaryRowsFor(pool, "all_known", [], ["a", "b", "c"]))?.types).toEqual(["text", "date", "numeric"]);
    expect((await binaryRowsFor(pool, "all_known", [], ["c", "a"]))?.types).toEqual(["numeric", "text"]);
    expect(await binaryRowsFor(pool, "has_time", [], ["a", "at"])).toBeUndefined();
    expect(await binaryRowsFor(pool, "has_time", [], ["a"])).toBeDefined();
  });
});
