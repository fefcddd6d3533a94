import { Readable } from "node:stream";
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_ZIP_LIMITS,
  ZipRejectedError,
  readDirectory,
  verifyEntries,
  type RangeReader,
  type ZipLimits,
} from "../../packages/core/src/xlsx/zip";
import { inspectWorkbook } from "../../packages/core/src/xlsx/read";
import { buildZip, workbookEntries, type TestEntry } from "../support/zip";

/** Range reads over an in-memory archive, as the object store serves them (end inclusive). */
const rangesOf =
  (zip: Buffer): RangeReader =>
  async (start, end) =>
    Readable.from([zip.subarray(start, end + 1)]);

async function rejection(zip: Buffer, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<string> {
  const err = await inspectWorkbook(rangesOf(zip), zip.length, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ZipRejectedError);
  return (err as Error).message;
}

const SHEET = "xl/worksheets/sheet1.xml";
const sheetXml = Buffer.from(
  '<?xml version="1.0"?><worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Loan ID</t></is></c></row></sheetData></worksheet>',
);
const spaces = (n: number) => Buffer.alloc(n, 0x20);
/** Where the end-of-central-directory record of a buildZip archive starts (it has no comment). */
const eocdOf = (zip: Buffer) => zip.length - 22;

describe("the ZIP guard in front of every XLSX workbook", () => {
  it("passes a well-formed workbook and lists its entries as the directory declares them", async () => {
    const zip = buildZip(workbookEntries(sheetXml));
    await expect(inspectWorkbook(rangesOf(zip), zip.length)).resolves.toBeUndefined();
    const entries = await readDirectory(rangesOf(zip), zip.length);
    expect(entries.map((e) => [e.name, e.method, e.uncompressedSize, e.crc32])).toEqual([
      [
        "[Content_Types].xml",
        8,
        workbookEntries(sheetXml)[0]!.data.length,
        zlib.crc32(workbookEntries(sheetXml)[0]!.data),
      ],
      ["xl/workbook.xml", 8, workbookEntries(sheetXml)[1]!.data.length, zlib.crc32(workbookEntries(sheetXml)[1]!.data)],
      [SHEET, 8, sheetXml.length, zlib.crc32(sheetXml)],
    ]);
  });

  it("refuses an honest bomb from its directory, before inflating a byte", async () => {
    const body = spaces(20 * 1024 ** 2);
    const compressed = zlib.deflateRawSync(body, { level: 9 }).length;
    const zip = buildZip(workbookEntries(body));
    let inflatedFrom = 0;
    const counting: RangeReader = async (start, end) => {
      inflatedFrom += end - start + 1;
      return rangesOf(zip)(start, end);
    };
    const err = await inspectWorkbook(counting, zip.length).catch((e: Error) => e);
    expect((err as Error).message).toBe(
      `zip bomb suspected: ${SHEET} has a compression ratio of ${Math.round(body.length / compressed)}:1 (limit 200:1)`,
    );
    // Only the tail (end record and directory) was read: the archive is smaller than the tail window.
    expect(inflatedFrom).toBe(zip.length);
  });

  it("stops a lying bomb (directory declares 4 KiB) as soon as it inflates past what it declared", async () => {
    const zip = buildZip(workbookEntries(spaces(20 * 1024 ** 2), { declaredSize: 4096 }));
    expect(await rejection(zip)).toBe(`corrupt or a zip bomb: ${SHEET} inflates past its declared 4096 bytes`);
  });

  it("checks the ratio only above the floor, and exactly at the cap", async () => {
    // 1 MiB of spaces compresses about 1000:1, but an entry of at most 1 MiB is not ratio-checked.
    const atFloor = buildZip(workbookEntries(spaces(1024 ** 2)));
    await expect(inspectWorkbook(rangesOf(atFloor), atFloor.length)).resolves.toBeUndefined();
    const overFloor = buildZip(workbookEntries(spaces(1024 ** 2 + 1)));
    expect(await rejection(overFloor)).toMatch(
      new RegExp(`^zip bomb suspected: ${SHEET} has a compression ratio of \\d+:1 \\(limit 200:1\\)$`),
    );

    // A stored entry of 1000 bytes declared as 200,000 (ratio exactly 200:1) passes the directory; 200,001 does not.
    const limits: ZipLimits = { ...DEFAULT_ZIP_LIMITS, ratioFloorBytes: 0 };
    const stored = (declaredSize: number) => buildZip(workbookEntries(spaces(1000), { method: 0, declaredSize }));
    await expect(readDirectory(rangesOf(stored(200_000)), stored(200_000).length, limits)).resolves.toHaveLength(3);
    expect(await rejection(stored(200_001), limits)).toBe(
      `zip bomb suspected: ${SHEET} has a compression ratio of 200:1 (limit 200:1)`,
    );
  });

  it("caps the entries, each entry's size and the total", async () => {
    const zip = buildZip(workbookEntries(sheetXml));
    expect(await rejection(zip, { ...DEFAULT_ZIP_LIMITS, maxEntries: 2 })).toBe("too many entries: 3 (limit 2)");
    const bigSheet = buildZip(workbookEntries(spaces(500)));
    expect(await rejection(bigSheet, { ...DEFAULT_ZIP_LIMITS, maxEntryBytes: 200 })).toBe(
      `zip bomb suspected: ${SHEET} inflates to 500 bytes (limit 200)`,
    );
    expect(await rejection(zip, { ...DEFAULT_ZIP_LIMITS, maxTotalBytes: 300 })).toBe(
      "zip bomb suspected: the entries inflate to more than 300 bytes",
    );
  });

  it("refuses a truncated archive, a directory cut short and a directory outside the file", async () => {
    const zip = buildZip(workbookEntries(sheetXml));
    expect(await rejection(zip.subarray(0, zip.length - 10))).toBe(
      "truncated or corrupt: the ZIP end-of-central-directory record is missing",
    );
    expect(await rejection(zip.subarray(0, 21))).toBe("truncated: 21 bytes is too short for a ZIP archive");

    // The end record counts one more entry than the directory holds: the directory was cut short.
    const cut = Buffer.from(zip);
    cut.writeUInt16LE(4, eocdOf(cut) + 8);
    cut.writeUInt16LE(4, eocdOf(cut) + 10);
    expect(await rejection(cut)).toBe("corrupt: central directory entry 4 of 4 is damaged");

    const outside = Buffer.from(zip);
    outside.writeUInt32LE(zip.length, eocdOf(outside) + 16);
    expect(await rejection(outside)).toBe("truncated or corrupt: the central directory lies outside the file");
  });

  it("refuses an encrypted entry and an unknown compression method", async () => {
    const entries: TestEntry[] = workbookEntries(sheetXml, { flags: 1 });
    expect(await rejection(buildZip(entries))).toBe(
      `encrypted entry ${SHEET}: password-protected workbooks cannot be read`,
    );
    const bzip2 = buildZip(workbookEntries(sheetXml));
    // The first central header starts right after the last entry's data: its method field is at +10.
    bzip2.writeUInt16LE(12, bzip2.readUInt32LE(eocdOf(bzip2) + 16) + 10);
    expect(await rejection(bzip2)).toBe("unsupported compression method 12 for [Content_Types].xml");
  });

  it("refuses an entry whose data fails its CRC, does not inflate, or inflates short of its declared size", async () => {
    expect(await rejection(buildZip(workbookEntries(sheetXml, { crc32: zlib.crc32(sheetXml) ^ 1 })))).toBe(
      `corrupt: ${SHEET} fails its CRC check`,
    );

    const garbled = buildZip(workbookEntries(sheetXml));
    // The first entry's deflate data starts after its 30-byte header and 19-byte name; 0xff is an invalid block type.
    garbled.fill(0xff, 30 + "[Content_Types].xml".length, 30 + "[Content_Types].xml".length + 4);
    expect(await rejection(garbled)).toMatch(
      /^corrupt: \[Content_Types\]\.xml does not inflate \(invalid block type\)$/,
    );

    const short = buildZip(workbookEntries(sheetXml, { declaredSize: sheetXml.length + 10 }));
    expect(await rejection(short)).toBe(
      `truncated or corrupt: ${SHEET} inflates to ${sheetXml.length} bytes, its directory says ${sheetXml.length + 10}`,
    );
  });

  it("verifies entries by range reads without the directory pass (what Stage relies on)", async () => {
    const zip = buildZip(workbookEntries(sheetXml));
    const entries = await readDirectory(rangesOf(zip), zip.length);
    await expect(verifyEntries(rangesOf(zip), entries)).resolves.toBeUndefined();
    const lied = entries.map((e) => (e.name === SHEET ? { ...e, uncompressedSize: 10 } : e));
    await expect(verifyEntries(rangesOf(zip), lied)).rejects.toThrow(
      `corrupt or a zip bomb: ${SHEET} inflates past its declared 10 bytes`,
    );
  });

  it("refuses a ZIP that is not a workbook", async () => {
    expect(await rejection(buildZip([{ name: "hello.txt", data: Buffer.from("hi") }]))).toBe(
      "not an XLSX workbook: the ZIP archive has no xl/workbook.xml",
    );
    expect(await rejection(buildZip(workbookEntries(sheetXml).slice(0, 2)))).toBe(
      "not an XLSX workbook: it has no worksheet",
    );
  });
});
