import { mkdtempSync, readFileSync, readdirSync, rmSync, createReadStream } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { parse } from "csv-parse/sync";
import { writeDay } from "../../packages/local/src/generate/day";
import { trackingCodeFor } from "../../packages/local/src/generate/random";
import { barcodeMap } from "../../packages/core/src/sources/barcode-map";
import { partnerAMortgages } from "../../packages/core/src/sources/partner-a-mortgages";
import { readSheetRows } from "../../packages/core/src/xlsx/read";
import { Imb } from "@leadpipe/core";

const PARTNER_SOURCES = [
  "partner-a-mortgages",
  "partner-b-mortgages",
  "partner-c-mortgages",
  "partner-d-mortgages",
  "barcode-map",
];
const tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-generate-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function day(name: string, d: string, rows = 40): Promise<string> {
  const dir = path.join(tmp, name);
  await import("node:fs/promises").then((fs) => fs.mkdir(dir));
  await writeDay(dir, { day: d, rows, badEvery: 9 }, PARTNER_SOURCES);
  return dir;
}

/** The mortgage ids of a delimited mortgage file, by its first column. */
function idsOf(file: string, delimiter: string, quote: string, encoding: BufferEncoding): string[] {
  const records = parse(readFileSync(file, encoding).replace(/^\uFEFF/, ""), {
    delimiter,
    quote,
    escape: quote,
    skip_empty_lines: true,
  }) as string[][];
  return records
    .slice(1)
    .map((r) => r[0]!)
    .filter((id) => id !== "");
}

describe("the partner generators", () => {
  it("write byte-identical files for the same day, and different ones for another day", async () => {
    const first = await day("first", "2026-11-20");
    // Another clock for the second run: nothing the generators write may depend on it (workbook dates, ZIP entry times).
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2031-03-04T05:06:07Z") });
    let second: string;
    try {
      second = await day("second", "2026-11-20");
    } finally {
      vi.useRealTimers();
    }
    const other = await day("other", "2026-11-23");
    const files = readdirSync(first).sort();
    expect(files).toEqual([
      "partner-a-mortgages-2026-11-20.xlsx",
      "partner-b-barcodes-2026-11-20.csv",
      "partner-b-mortgages-2026-11-20.csv",
      "partner-c-barcodes-2026-11-20.csv",
      "partner-c-mortgages-2026-11-20.csv",
      "partner-d-barcodes-2026-11-20.csv",
      "partner-d-mortgages-2026-11-20.txt",
    ]);
    for (const f of files) {
      expect(
        readFileSync(path.join(second, f)).equals(readFileSync(path.join(first, f))),
        `${f} differs between two runs`,
      ).toBe(true);
      expect(
        readFileSync(path.join(other, f.replace("2026-11-20", "2026-11-23"))).equals(readFileSync(path.join(first, f))),
        `${f} is the same on another day`,
      ).toBe(false);
    }
  });

  it("give every barcode map the barcodes of its partner's mortgages (trackingCodeFor), bad rows aside", async () => {
    const dir = await day("maps", "2026-11-20");
    const mortgageIds = {
      B: idsOf(path.join(dir, "partner-b-mortgages-2026-11-20.csv"), ",", '"', "utf8"),
      C: idsOf(path.join(dir, "partner-c-mortgages-2026-11-20.csv"), ";", '"', "latin1"),
      D: idsOf(path.join(dir, "partner-d-mortgages-2026-11-20.txt"), "|", "'", "utf8"),
    };
    for (const [partner, ids] of Object.entries(mortgageIds)) {
      const records = parse(
        readFileSync(path.join(dir, `partner-${partner.toLowerCase()}-barcodes-2026-11-20.csv`), "utf8"),
        { columns: true },
      ) as Record<string, string>[];
      const fieldOf = barcodeMap.columns;
      const rows = records.map((r) =>
        barcodeMap.row.fast(Object.fromEntries(Object.entries(r).map(([h, v]) => [fieldOf[h]!, v]))),
      );
      // Every 9th row is bad; the bad map rows (kind 3) carry a barcode id the specification forbids.
      const good = rows.filter((r) => r !== undefined);
      expect(records.length).toBe(40);
      expect(good.length).toBeGreaterThanOrEqual(36);
      for (const r of good) expect(r.tracking_code).toBe(trackingCodeFor(String(r.mortgage_id)));
      expect(records.map((r) => r["Loan Number"])).toEqual(
        Array.from({ length: 40 }, (_, i) => `${partner}-${100_000 + i}`),
      );
      // The mortgage file names the same ids (less the rows whose id is the planted mistake).
      expect(
        ids.every(
          (id) =>
            id.toUpperCase() === `${partner}-${Number(id.slice(2))}` &&
            records.some((r) => r["Loan Number"] === id.toUpperCase()),
        ),
      ).toBe(true);
      // Each partner's habitual encoding, and now and then another.
      const encodings = new Set(good.map((r) => r.imb_encoding));
      expect(encodings.size).toBe(2);
    }
  });

  it("embed in partner A's workbook the bar string of each mortgage's tracking code", async () => {
    const dir = await day("xlsx", "2026-11-20");
    const rows: string[][] = [];
    await readSheetRows(createReadStream(path.join(dir, "partner-a-mortgages-2026-11-20.xlsx")), (cells) => {
      rows.push(cells);
    });
    const header = rows[0]!;
    expect(header).toEqual(Object.keys(partnerAMortgages.columns));
    const id = header.indexOf("Loan ID");
    const imb = header.indexOf("IMb");
    expect(rows.length).toBe(41);
    let decoded = 0;
    for (const r of rows.slice(1)) {
      const result = Imb.tryParse(r[imb]!);
      if (!result.ok) continue;
      decoded++;
      expect(result.tracking).toBe(trackingCodeFor(r[id]!));
    }
    expect(decoded).toBeGreaterThanOrEqual(36);
  });
});
