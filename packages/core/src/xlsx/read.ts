import type { Readable } from "node:stream";
import ExcelJS from "exceljs";
import {
  DEFAULT_ZIP_LIMITS,
  ZipRejectedError,
  readDirectory,
  verifyEntries,
  type RangeReader,
  type ZipLimits,
} from "./zip";

const name = (entryName: string) => entryName.replace(/^\/+/, "");

/**
 * Checks that a ZIP object is an XLSX workbook that can be read safely (see zip.ts): a directory
 * with a workbook and a worksheet, within the limits, every entry inflating to its declared
 * size. Throws ZipRejectedError with the reason.
 */
export async function inspectWorkbook(
  read: RangeReader,
  size: number,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<void> {
  const entries = await readDirectory(read, size, limits);
  const names = entries.map((e) => name(e.name));
  if (!names.includes("xl/workbook.xml"))
    throw new ZipRejectedError("not an XLSX workbook: the ZIP archive has no xl/workbook.xml");
  if (!names.some((n) => /^xl\/worksheets\/sheet\d+\.xml$/.test(n)))
    throw new ZipRejectedError("not an XLSX workbook: it has no worksheet");
  await verifyEntries(read, entries, limits);
}

/** A cell as the text a partner sees in it: dates as YYYY-MM-DD, formulas by their result, rich text joined. */
export function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (typeof value === "boolean") return value ? "TRUE" : "FALSE";
  if (value instanceof Date) {
    const iso = value.toISOString();
    return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : iso.replace(/\.000Z$/, "Z");
  }
  if ("richText" in value) return value.richText.map((r) => r.text).join("");
  if ("error" in value) return String(value.error);
  if ("formula" in value || "sharedFormula" in value)
    return cellText((value as { result?: ExcelJS.CellValue }).result as ExcelJS.CellValue);
  if ("text" in value) return cellText((value as { text: ExcelJS.CellValue }).text);
  return String(value);
}

/** The most bytes the shared-strings table of a workbook may take in memory while it is read. */
export const MAX_SHARED_STRING_BYTES = 1024 ** 3;

/** The workbook's shared-strings table needs more memory than the reader may use: the file is refused with this reason. */
export class SharedStringsTooLargeError extends Error {
  override readonly name = "SharedStringsTooLargeError";
}

/**
 * The shared-strings table, compact: the texts' UTF-8 bytes in 16 MB blocks and two numbers a
 * string, rather than a JavaScript string (or rich-text object) each, which took up to twenty
 * times the table's XML. What it holds is capped: past `maxBytes` (texts and their index) the
 * read stops with SharedStringsTooLargeError.
 */
export class SharedStrings {
  private static readonly BLOCK = 16 * 1024 * 1024;
  private static readonly PAGE = 1 << 16;
  private readonly blocks: Buffer[] = [];
  private used = SharedStrings.BLOCK;
  /** Where string i starts (block * BLOCK + offset) and its length in bytes, in pages: nothing is copied as the table grows. */
  private readonly starts: Float64Array[] = [];
  private readonly lengths: Uint32Array[] = [];
  count = 0;
  bytes = 0;

  constructor(private readonly maxBytes: number = MAX_SHARED_STRING_BYTES) {}

  add(text: string): void {
    const size = Buffer.byteLength(text);
    if (this.bytes + size + 12 > this.maxBytes) {
      throw new SharedStringsTooLargeError(
        `its shared-strings table holds more than ${this.maxBytes} bytes ` +
          `(${this.count + 1} strings so far), more than a workbook may take in memory`,
      );
    }
    const page = Math.floor(this.count / SharedStrings.PAGE);
    if (page === this.starts.length) {
      this.starts.push(new Float64Array(SharedStrings.PAGE));
      this.lengths.push(new Uint32Array(SharedStrings.PAGE));
    }
    this.bytes += size + 12;
    if (this.blocks.length === 0 || this.used + size > SharedStrings.BLOCK) {
      this.blocks.push(Buffer.allocUnsafe(Math.max(SharedStrings.BLOCK, size)));
      this.used = 0;
    }
    const block = this.blocks.length - 1;
    this.blocks[block]!.write(text, this.used, "utf8");
    const slot = this.count % SharedStrings.PAGE;
    this.starts[page]![slot] = block * SharedStrings.BLOCK + this.used;
    this.lengths[page]![slot] = size;
    this.used += size;
    this.count++;
  }

  get(index: number): string | undefined {
    if (!(index >= 0 && index < this.count)) return undefined;
    const page = Math.floor(index / SharedStrings.PAGE);
    const slot = index % SharedStrings.PAGE;
    const start = this.starts[page]![slot]!;
    const block = Math.floor(start / SharedStrings.BLOCK);
    const offset = start - block * SharedStrings.BLOCK;
    return this.blocks[block]!.toString("utf8", offset, offset + this.lengths[page]![slot]!);
  }
}

function sharedString(strings: SharedStrings, index: unknown): string {
  const text = strings.get(Number(index));
  if (text === undefined)
    throw new Error(`a cell refers to shared string ${String(index)}, and the table has ${strings.count}`);
  return text;
}

/** A shared string as exceljs emits it: plain text, or rich text (runs of formatted text, joined). */
type EmittedString = string | null | { richText: { text: string | null }[] };

const textOf = (s: EmittedString): string =>
  s === null ? "" : typeof s === "string" ? s : s.richText.map((r) => r.text ?? "").join("");

/**
 * Streams the first worksheet's rows as cell texts with their sheet row number; rows with no
 * value are skipped (like blank lines in a CSV). Memory stays bounded: exceljs parses the sheet
 * as it arrives (a sheet stored before the shared strings is spooled to a temporary file first),
 * and the shared strings are kept compact and capped (SharedStrings).
 */
export async function readSheetRows(
  input: Readable,
  onRow: (cells: string[], rowNumber: number) => Promise<void> | void,
  options: { maxSharedStringBytes?: number } = {},
): Promise<void> {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    worksheets: "emit",
    sharedStrings: "emit",
    hyperlinks: "ignore",
    styles: "cache",
    entries: "ignore",
  });
  const strings = new SharedStrings(options.maxSharedStringBytes);
  // exceljs looks a shared-string cell up as workbook.sharedStrings[index]; once the table has
  // begun, that look-up is answered from the compact table. (It also decides by it whether a
  // sheet can be read straight away: only one that comes after the table can.)
  const lookup = new Proxy({}, { get: (_t, p) => (typeof p === "string" ? strings.get(Number(p)) : undefined) });
  const internals = reader as unknown as { sharedStrings?: unknown; parse(): AsyncIterable<unknown> };
  let sheets = 0;
  try {
    for await (const item of internals.parse()) {
      const event = item as { eventType?: string; value?: unknown; index?: number; text?: EmittedString };
      if (event.eventType === undefined && typeof event.index === "number") {
        strings.add(textOf(event.text ?? null));
        internals.sharedStrings ??= lookup;
        continue;
      }
      if (event.eventType !== "worksheet") continue;
      // Only the first sheet holds data; later ones are read through (and ignored) so the archive drains.
      const emit = sheets++ === 0;
      for await (const row of event.value as AsyncIterable<ExcelJS.Row>) {
        if (!emit) continue;
        const values = row.values as ExcelJS.CellValue[];
        const cells: string[] = [];
        let any = false;
        for (let i = 1; i < values.length; i++) {
          const v = values[i];
          // A cell exceljs could not look up (its sheet was parsed before the table was known) is looked up here.
          const t =
            v !== null && typeof v === "object" && "sharedString" in v
              ? sharedString(strings, v.sharedString)
              : cellText(v);
          if (t.trim() !== "") any = true;
          cells.push(t);
        }
        if (any) await onRow(cells, row.number);
      }
    }
  } catch (err) {
    input.destroy();
    throw err;
  }
}
