import type { Readable } from "node:stream";
import ExcelJS from "exceljs";
import { DEFAULT_ZIP_LIMITS, ZipRejectedError, readDirectory, verifyEntries, type RangeReader, type ZipLimits } from "./zip";

const name = (entryName: string) => entryName.replace(/^\/+/, "");

/**
 * Checks that a ZIP object is an XLSX workbook that can be read safely (see zip.ts): a directory
 * with a workbook and a worksheet, within the limits, every entry inflating to its declared
 * size. Throws ZipRejectedError with the reason.
 */
export async function inspectWorkbook(read: RangeReader, size: number, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<void> {
  const entries = await readDirectory(read, size, limits);
  const names = entries.map((e) => name(e.name));
  if (!names.includes("xl/workbook.xml")) throw new ZipRejectedError("not an XLSX workbook: the ZIP archive has no xl/workbook.xml");
  if (!names.some((n) => /^xl\/worksheets\/sheet\d+\.xml$/.test(n))) throw new ZipRejectedError("not an XLSX workbook: it has no worksheet");
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
  if ("formula" in value || "sharedFormula" in value) return cellText((value as { result?: ExcelJS.CellValue }).result as ExcelJS.CellValue);
  if ("text" in value) return cellText((value as { text: ExcelJS.CellValue }).text);
  return String(value);
}

/**
 * Streams the first worksheet's rows as cell texts with their sheet row number; rows with no
 * value are skipped (like blank lines in a CSV). Memory stays flat: exceljs parses the sheet as
 * it arrives (a sheet stored before the shared strings is spooled to a temporary file first).
 */
export async function readSheetRows(input: Readable, onRow: (cells: string[], rowNumber: number) => Promise<void> | void): Promise<void> {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    worksheets: "emit", sharedStrings: "cache", hyperlinks: "ignore", styles: "cache", entries: "ignore",
  });
  let sheets = 0;
  for await (const sheet of reader) {
    // Only the first sheet holds data; later ones are read through (and ignored) so the archive drains.
    const emit = sheets++ === 0;
    for await (const row of sheet as AsyncIterable<ExcelJS.Row>) {
      if (!emit) continue;
      const values = row.values as ExcelJS.CellValue[];
      const cells: string[] = [];
      let any = false;
      for (let i = 1; i < values.length; i++) {
        const t = cellText(values[i]);
        if (t.trim() !== "") any = true;
        cells.push(t);
      }
      if (any) await onRow(cells, row.number);
    }
  }
}
