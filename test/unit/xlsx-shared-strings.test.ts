import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { promisify } from "node:util";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { SharedStrings, SharedStringsTooLargeError, readSheetRows } from "../../packages/core/src/xlsx/read";
import { NS, manyStrings, workbook } from "../support/xlsx";

async function rows(xlsx: Buffer, maxSharedStringBytes?: number): Promise<[number, string[]][]> {
  const out: [number, string[]][] = [];
  await readSheetRows(
    Readable.from([xlsx]),
    (cells, row) => {
      out.push([row, cells]);
    },
    { maxSharedStringBytes },
  );
  return out;
}

const execFileAsync = promisify(execFile);
const tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-xlsx-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("the shared-strings table, compact and capped", () => {
  it("gives back every string as it was added (multi-byte text, empty, one larger than a block)", () => {
    const table = new SharedStrings();
    const big = "é".repeat(9 * 1024 * 1024);
    const texts = ["", "plain", "José Zoë 日本 😀", big, "after the big one"];
    for (const t of texts) table.add(t);
    expect(texts.map((_, i) => table.get(i))).toEqual(texts);
    expect(table.get(5)).toBeUndefined();
    expect(table.get(-1)).toBeUndefined();
  });

  it("stops with the reason once it would hold more than its cap", () => {
    const table = new SharedStrings(100);
    for (let i = 0; i < 4; i++) table.add("1234567890");
    expect(() => table.add("x")).toThrow(SharedStringsTooLargeError);
    expect(() => table.add("x")).toThrow(/shared-strings table holds more than 100 bytes \(5 strings so far\)/);
  });
});

describe("reading a workbook's shared strings", () => {
  const sst = Buffer.from(
    `<?xml version="1.0"?><sst ${NS}><si><t>Loan Number</t></si><si><t>Name</t></si>` +
      `<si><t>B-1</t></si><si><r><t>Zo</t></r><r><rPr><b/></rPr><t>ë Li</t></r></si></sst>`,
  );
  const sheet =
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>' +
    '<row r="3"><c r="A3" t="s"><v>2</v></c><c r="B3" t="s"><v>3</v></c></row>';

  it("resolves shared-string cells, rich text joined", async () => {
    expect(await rows(workbook(sst, sheet, "strings-first"))).toEqual([
      [1, ["Loan Number", "Name"]],
      [3, ["B-1", "Zoë Li"]],
    ]);
  });

  it("never turns a shared-string cell it cannot resolve into text: the read fails with the reason", async () => {
    // exceljs's streaming reader can lose a table that comes after a sheet it spooled (it does with
    // this small in-memory archive); the cells it could not look up used to read "[object Object]".
    const read = rows(workbook(sst, sheet, "sheet-first"));
    await read.then(
      (got) =>
        expect(got).toEqual([
          [1, ["Loan Number", "Name"]],
          [3, ["B-1", "Zoë Li"]],
        ]),
      (err: Error) => expect(err.message).toMatch(/a cell refers to shared string 0, and the table has \d+/),
    );
  });

  it("refuses a workbook whose table is over the cap, naming it", async () => {
    await expect(rows(workbook(manyStrings(10_000), sheet), 64 * 1024)).rejects.toThrow(
      /shared-strings table holds more than 65536 bytes/,
    );
  });

  it("reads a 3M-string table in a child process within a bounded RSS, and stops one over a 24 MB cap early", async () => {
    const file = path.join(tmp, "strings.xlsx");
    const n = 3_000_000;
    const support = (name: string) => path.resolve(__dirname, "../support", name);
    // Children, awaited: this process stays free to answer the test runner meanwhile.
    await run(support("xlsx-strings-file.ts"), file, String(n));
    const read = async (...args: string[]) =>
      JSON.parse(await run(support("xlsx-read-rss.ts"), file, ...args)) as {
        rows: number;
        first?: string[];
        error: string | null;
        peakRssMB: number;
      };
    const whole = await read();
    expect(whole).toMatchObject({ rows: 1, first: ["s0", `s${(n - 1).toString(36)}`], error: null });
    // 3M strings held by exceljs as JS strings took about 290 MB here; compact, about half.
    expect(whole.peakRssMB).toBeLessThan(260);
    const capped = await read(String(24 * 1024 * 1024));
    expect(capped.error).toMatch(
      /^SharedStringsTooLargeError: its shared-strings table holds more than 25165824 bytes/,
    );
    expect(capped.rows).toBe(0);
    expect(capped.peakRssMB).toBeLessThan(260);
  }, 240_000);
});

async function run(script: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, ["--import", "tsx", script, ...args], {
    encoding: "utf8",
    timeout: 180_000,
  });
  return stdout;
}
